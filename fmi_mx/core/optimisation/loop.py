"""The optimisation loop: a graph of B slots works through a queue of jobs, each slot holding one job.

Each slot keeps its own update count (so its own learning-rate schedule or bias correction), its own
momentum (cleared when a job arrives), its own random transforms (seeded by the job) and its own stopping
test (the original's: stop when ||x_t - x_{t-1}|| / ||x_t|| < stop_eps, or after max_iterations updates).
When a job stops, the next one takes its slot at once (continuous batching); a batch is the queue that never
refills. Either way each job ends as it would in a separate run.
"""
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ... import signals
from ...errors import FmiError
from ..image import param
from .optimisers import make, refills
from .settings import Settings


NON_FINITE = "non_finite"  # the stop reason of a job whose image turned non-finite
NEVER_FIRED = "never_fired"  # a visualisation whose objective stayed zero through every fresh start


def initial_image(shape: Tuple[int, ...], seed: int, s: Settings, restart: int = 0) -> np.ndarray:
    """The optimised variable's start for images of ``shape`` (N, 3, H, W): pixels uniform in +-init_range
    in the mean-removed space (the original's), or a spectrum (``param.initial``); ``restart``: a fresh one."""
    kind = s.image.param
    return param.initial(kind, param.of(kind).variable_shape(shape[0], shape[2], shape[3]), seed, s.init_range, restart)


def streams(continuous: bool, save_every: int, method: str) -> bool:
    """Do a batch's jobs run as a stream (a stopped job's slot refilled at once)? Only when asked, without
    snapshots (a stream's slots change hands mid-run), and for an optimiser whose slots step on their own."""
    return bool(continuous) and not save_every and refills(method)


@dataclass
class Outcome:
    """How one job's optimisation ended: the image reached and why it stopped."""

    x: np.ndarray
    iterations: int
    stop_reason: str  # "converged" | "max_iterations" | "non_finite" | "reached_loss" | "max_seconds" | "never_fired"
    seconds_per_iteration: float
    history: List[Tuple[int, float, float]] = field(default_factory=list)  # (update, loss, relative change)
    batch_size: int = 1  # the slots holding jobs when the run began
    evaluations: int = 0  # forward and backward passes of the batch (L-BFGS: line search included)


@dataclass
class Job:
    """One job as a slot needs it: its start, its targets (one per target of the graph, without the batch
    axis; none for a graph without targets) and its seed. A filler only fills its slot: it is held still
    and never reported (a batch run in a larger graph already bound)."""

    x0: np.ndarray  # (1, ...) the optimised variable's start
    targets: Sequence[np.ndarray] = ()
    seed: int = 0
    tag: object = None  # the caller's: which job this is
    filler: bool = False


def batch(x0: np.ndarray, seeds: Optional[Sequence[int]] = None) -> List[Job]:
    """The jobs of a batch of starts ``x0`` (N, ...), tagged by their place, seeded by ``seeds`` (default: the place)."""
    seeds = range(len(x0)) if seeds is None else seeds
    return [Job(x0[i:i + 1], seed=seed, tag=i) for i, seed in enumerate(seeds)]


@dataclass
class Stopped:
    """A job that stopped, in its slot: the slot's data holds its final image while ``on_stop`` hears of it."""

    slot: int
    job: Job
    outcome: Outcome


@dataclass
class _Slot:
    job: Job
    started: float
    order: int  # the job's place in the queue
    count: int = 0
    history: List[tuple] = field(default_factory=list)


def minimise(graph, jobs: Iterable[Job], s: Settings, log: Optional[Callable[[str], None]] = None,
             on_stop: Optional[Callable[[List[Stopped]], None]] = None, save_every: int = 0,
             on_snapshot: Optional[Callable[[int, List[int], np.ndarray], None]] = None) -> List[Outcome]:
    """Run ``s.method`` on ``graph`` over every job of ``jobs``, each in a free slot, until all have stopped;
    returns their outcomes in queue order (fillers left out). ``on_stop`` hears of the jobs that stopped at an
    update before the next jobs take their slots. Every ``save_every`` updates, ``on_snapshot(update, slots
    running, images)`` gets the graph's images. A job that turns non-finite keeps its last finite image."""
    x, n = graph.data, graph.data.shape[0]
    queue = iter(jobs)
    first = [next(queue, None) for _ in range(n)]
    method = make(graph, s, [job.seed if job is not None else 0 for job in first])
    slots: List[Optional[_Slot]] = [None] * n
    still: Dict[int, object] = {}  # empty slots -> the image they are held at
    outcomes: Dict[int, Outcome] = {}
    queued = itertools.count()
    started = time.perf_counter()
    for i, job in enumerate(first):
        _load(graph, method, slots, still, i, job, started, next(queued))
    size = sum(1 for slot in slots if slot)
    update = 0
    while any(slots):
        signals.check()
        update += 1
        running = [i for i in range(n) if slots[i]]
        for i in running:
            slots[i].count += 1
        change, losses = method.step(_counts(slots, running), running)
        for i, image in still.items():
            x[i:i + 1] = image
        stopped = _stopped(x, method, slots, running, change, losses, s)
        if log and (update % s.log_every == 0 or update == 1):
            _log(log, update, n, float(np.sum(losses[running])), change, running, method.describe(update))
        if on_snapshot and save_every and update % save_every == 0:
            on_snapshot(update, running, graph.images())  # note: a copy to the host every save_every updates
        now = time.perf_counter()
        ended = [Stopped(i, slots[i].job, Outcome(x[i:i + 1].asnumpy(), count, reason,
                                                  (now - slots[i].started) / max(1, slots[i].count),
                                                  slots[i].history, size, method.evaluations))
                 for i, reason, count in stopped]
        for e in ended:
            outcomes[slots[e.slot].order] = e.outcome
        if ended and on_stop:
            on_stop(ended)
        for e in ended:
            job = next(queue, None)
            if job is not None and not method.refills:
                raise FmiError(f"method {s.method} cannot take a new job into a slot mid-run")
            _load(graph, method, slots, still, e.slot, job, now, next(queued))
    return [outcomes[k] for k in sorted(outcomes)]


def _counts(slots: List[Optional[_Slot]], running: List[int]) -> np.ndarray:
    """Each slot's update count; an empty slot takes a running one's, so that a batch whose jobs started
    together steps with one rate for all."""
    idle = slots[running[0]].count
    return np.array([slot.count if slot else idle for slot in slots])


def _stopped(x, method, slots: List[Optional[_Slot]], running: List[int], change: np.ndarray, losses: np.ndarray,
             s: Settings) -> List[Tuple[int, str, int]]:
    """The running slots whose jobs stop after this update: (slot, why, updates counted); a non-finite one
    goes back to its last finite image."""
    now, stopped = time.perf_counter(), []
    for i in running:
        slot = slots[i]
        if not math.isfinite(change[i]):
            x[i:i + 1] = method.previous[i:i + 1]
            stopped.append((i, NON_FINITE, slot.count - 1))
            continue
        slot.history.append((slot.count, float(losses[i]), float(change[i])))
        reason = _stop_test(float(change[i]), float(losses[i]), s)
        if not reason and slot.count >= s.stop.max_iterations:
            reason = "max_iterations"
        if not reason and s.stop.max_seconds and now - slot.started >= s.stop.max_seconds:
            reason = "max_seconds"
        if reason:
            stopped.append((i, reason, slot.count))
    return stopped


def _load(graph, method, slots: List[Optional[_Slot]], still: Dict[int, object], i: int, job: Optional[Job],
          now: float, order: int) -> None:
    """Put ``job`` in slot ``i``: a fresh start, targets, momentum and transforms. With no job (or a filler)
    the slot is held still at the image it has, its loss not counted."""
    if job is not None:
        graph.data[i:i + 1] = job.x0
        if job.targets:
            for array, target in zip(graph.target_arrays, job.targets):
                array[i] = target
        if slots[i] is not None:  # a slot that held a job before: clear what it left
            method.reset(i)
            if method.randomness is not None:
                method.randomness.reseed(i, job.seed)
    if job is None or job.filler:
        slots[i], still[i] = None, graph.data[i:i + 1].copy()
        return
    still.pop(i, None)
    slots[i] = _Slot(job, now, order)


def _stop_test(change: float, loss: float, s: Settings) -> str:
    """Why a job stops after this update ("" if it goes on); an image that did not move has converged."""
    if change < s.stop.stop_eps or change == 0:
        return "converged"
    return "reached_loss" if s.stop.stop_loss and loss <= s.stop.stop_loss else ""


def _log(log, update: int, n: int, loss: float, change, running, state: str) -> None:
    changes = [float(change[i]) for i in running if math.isfinite(change[i])]
    log(f"iter {update:4d}  loss {loss:.4e}  rel change {max(changes, default=float('nan')):.4f}  "
        f"{state}" + (f"  ({len(running)} of {n} running)" if n > 1 else ""))
