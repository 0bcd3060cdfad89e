"""Continuous batching: a graph of B slots works through a stream of jobs, and when a job in a slot stops,
the next job takes the slot at once, so no slot waits for the slowest of a batch.

Each slot keeps its own update count (so its own learning-rate schedule or bias correction), its own
momentum (cleared when a job arrives), its own random transforms (seeded by the job) and its own stopping
test, so a job ends as it would in a separate run, to float precision (the update is the same rule as the
batch loop's fused one, computed unfused). First-order methods only (SGD, Adam): L-BFGS keeps line searches
and histories that a new job would have to join mid-way.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import numpy as np

from ... import signals
from .loop import Outcome, _stop_test
from .optimisers import make
from .settings import Settings

STREAMING_METHODS = ("sgd", "adam")


def streams(continuous: bool, save_every: int, method: str) -> bool:
    """Does a batch run as a stream (continuous batching)? Only when asked, without snapshots (a stream's
    slots change hands mid-run), and for an optimiser that steps slots on their own (not L-BFGS, whose
    line search is shared)."""
    return bool(continuous) and not save_every and method in STREAMING_METHODS


@dataclass
class Job:
    """One job as a slot needs it: its start, its targets (one per target of the graph) and its seed."""

    x0: np.ndarray  # (1, ...) the optimised variable's start
    targets: List[np.ndarray]  # each without the batch axis
    seed: int
    tag: object = None  # the caller's: which job this is


@dataclass
class _Slot:
    job: Job
    started: float
    count: int = 0
    history: List[tuple] = field(default_factory=list)


def minimise_stream(graph, s: Settings, jobs: Callable[[], Optional[Job]],
                    on_stop: Callable[[List[tuple]], None], log: Optional[Callable[[str], None]] = None) -> int:
    """Run ``s.method`` over every job ``jobs()`` hands out (None: no more), each in a free slot of ``graph``.
    ``on_stop([(slot, job, outcome), ...])`` hears of the jobs that stopped at an update, while their slots'
    data still hold their images, before the next jobs take the slots. Returns the number of updates."""
    x, n = graph.data, graph.data.shape[0]
    method = make(graph, s, [0] * n)
    slots: List[Optional[_Slot]] = [None] * n
    for i in range(n):
        _load(graph, method, slots, i, jobs())
    steps = 0
    while any(slots):
        signals.check()
        running = [i for i in range(n) if slots[i]]
        for i in running:
            slots[i].count += 1
        counts = np.array([slot.count if slot else 1 for slot in slots])
        change, losses = method.step_slots(counts, running)
        steps += 1
        stopped = []
        for i in running:
            slot = slots[i]
            if not math.isfinite(change[i]):
                x[i:i + 1] = method.previous[i:i + 1]
                stopped.append((i, "non_finite", slot.count - 1))
                continue
            slot.history.append((slot.count, float(losses[i]), float(change[i])))
            reason = _stop_test(float(change[i]), float(losses[i]), s)
            if not reason and slot.count >= s.stop.max_iterations:
                reason = "max_iterations"
            if not reason and s.stop.max_seconds and time.perf_counter() - slot.started >= s.stop.max_seconds:
                reason = "max_seconds"
            if reason:
                stopped.append((i, reason, slot.count))
        if log and (steps % s.log_every == 0 or steps == 1):
            log(f"step {steps:4d}  {len(running)} of {n} slots running  loss {float(np.sum(losses)):.4e}")
        ended = []
        for i, reason, count in stopped:
            slot = slots[i]
            seconds = (time.perf_counter() - slot.started) / max(1, slot.count)
            ended.append((i, slot.job, Outcome(x[i:i + 1].asnumpy(), count, reason, seconds, slot.history, n,
                                               method.evaluations)))
        if ended:
            on_stop(ended)
        for i, _, _ in ended:
            _load(graph, method, slots, i, jobs())
    return steps


def _load(graph, method, slots: List[Optional[_Slot]], i: int, job: Optional[Job]) -> None:
    """Put ``job`` in slot ``i`` (None: the slot stays empty, its data still, its loss not counted)."""
    if job is None:
        slots[i] = None
        method.reset(i)  # an empty slot keeps still where its last job ended
        return
    graph.data[i:i + 1] = job.x0
    for array, target in zip(graph.target_arrays, job.targets):
        array[i] = target
    method.reset(i)
    if method.randomness is not None:
        method.randomness.reseed(i, job.seed)
    slots[i] = _Slot(job, time.perf_counter())
