"""The optimisation loop: any method of ``optimisers`` on a batch of images, each sample with its own
stopping test (the original's: stop when ||x_t - x_{t-1}|| / ||x_t|| < stop_eps, or after
max_iterations updates). The default method is the original scripts' SGD.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from ... import signals
from ..image import param
from .optimisers import make
from .settings import Settings


def initial_image(shape: Tuple[int, ...], seed: int, s: Settings, restart: int = 0) -> np.ndarray:
    """The optimised variable's start for images of ``shape`` (N, 3, H, W): pixels uniform in +-init_range
    in the mean-removed space (the original's), or a spectrum (``param.initial``); ``restart``: a fresh one."""
    kind = s.image.param
    return param.initial(kind, param.of(kind).variable_shape(shape[0], shape[2], shape[3]), seed, s.init_range, restart)


@dataclass
class Outcome:
    """How one sample's optimisation ended: the image reached and why it stopped."""

    x: np.ndarray
    iterations: int
    stop_reason: str  # "converged" | "max_iterations" | "non_finite" | "reached_loss" | "max_seconds" | "never_fired"
    seconds_per_iteration: float
    history: List[Tuple[int, float, float]] = field(default_factory=list)  # (update, loss, relative change)
    batch_size: int = 1
    evaluations: int = 0  # forward and backward passes of the batch (L-BFGS: line search included)


def minimise(graph, x0: np.ndarray, s: Settings, log: Optional[Callable[[str], None]] = None,
             on_stop: Optional[Callable[[List[int], List[Outcome]], None]] = None, save_every: int = 0,
             on_snapshot: Optional[Callable[[int, List[int], np.ndarray], None]] = None,
             seeds: Optional[Sequence[int]] = None, padding: int = 0) -> List[Outcome]:
    """Run ``s.method`` on ``graph.data`` (a batch of N images) from ``x0`` until every sample has stopped.

    Each sample keeps its own stopping test and is frozen once it stops, so a batch gives the images
    of N separate runs; ``on_stop(indices, outcomes)`` hears of samples as they stop (the batch's
    data then holds their final images). A sample that turns non-finite keeps its last finite image.
    Every ``save_every`` updates, ``on_snapshot(update, running samples, images)`` gets the batch's images.
    ``seeds``: each sample's, for its jitter. The last ``padding`` samples only fill the executor (frozen).
    """
    x, n = graph.data, graph.data.shape[0]
    x[:] = x0
    method = make(graph, s, list(range(n)) if seeds is None else seeds)
    iterations, reasons = [0] * n, [""] * n
    frozen: dict = {i: x[i:i + 1].copy() for i in range(n - padding, n)}  # sample -> its final image
    outcomes: dict = {}
    histories: List[list] = [[] for _ in range(n)]  # per sample: (update, its loss, its relative change)
    start = time.perf_counter()

    def stop(indices: List[int], update: int) -> None:
        seconds = (time.perf_counter() - start) / max(1, update)
        for i in indices:
            final = frozen[i] if i in frozen else x[i:i + 1]
            outcomes[i] = Outcome(final.asnumpy(), iterations[i], reasons[i] or "max_iterations", seconds,
                                  histories[i], n - padding, method.evaluations)
        if on_stop:
            on_stop(indices, [outcomes[i] for i in indices])

    for update in range(1, s.stop.max_iterations + 1):
        signals.check()
        running = [i for i in range(n) if i not in frozen]
        change, losses = method.step(update, running)  # losses: of the images before this update
        for i in frozen:
            x[i:i + 1] = frozen[i]
        for i in running:
            if not math.isfinite(change[i]):
                x[i:i + 1] = method.previous[i:i + 1]
                reasons[i], frozen[i] = "non_finite", method.previous[i:i + 1].copy()
                continue
            iterations[i] = update
            histories[i].append((update, float(losses[i]), float(change[i])))
            reasons[i] = _stop_test(float(change[i]), float(losses[i]), s)
            if reasons[i]:
                frozen[i] = x[i:i + 1].copy()
        if log and (update % s.log_every == 0 or update == 1):
            _log(log, update, n - len(frozen), n, float(np.sum(losses)), change, running, method.describe(update))
        if on_snapshot and save_every and update % save_every == 0:
            on_snapshot(update, running, graph.images())  # note: a copy to the host every save_every updates
        newly = [i for i in running if i in frozen]
        if newly and len(frozen) < n:
            stop(newly, update)
        if len(frozen) == n:
            break
        if s.stop.max_seconds and time.perf_counter() - start >= s.stop.max_seconds:
            reasons = [r or "max_seconds" for r in reasons]
            break
    stop([i for i in range(n - padding) if i not in outcomes], update)
    return [outcomes[i] for i in range(n - padding)]


def _stop_test(change: float, loss: float, s: Settings) -> str:
    """Why a sample stops after this update ("" if it goes on); an image that did not move has converged."""
    if change < s.stop.stop_eps or change == 0:
        return "converged"
    return "reached_loss" if s.stop.stop_loss and loss <= s.stop.stop_loss else ""


def _log(log, update: int, live: int, n: int, loss: float, change, running, state: str) -> None:
    changes = [float(change[i]) for i in running if math.isfinite(change[i])]
    log(f"iter {update:4d}  loss {loss:.4e}  rel change {max(changes, default=float('nan')):.4f}  "
        f"{state}" + (f"  ({live} of {n} running)" if n > 1 else ""))
