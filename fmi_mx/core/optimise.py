"""The optimiser of both original scripts (spec "Optimisation"): MXNet SGD on the image alone.

Per update t: lr_t = lr * factor^floor((t-1)/step); mom = momentum*mom - lr_t*(clip(g) + wd*x);
x += mom. Stop when ||x_t - x_{t-1}|| / ||x_t|| < stop_eps, or after max_iterations updates.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np

from .rules import Problem, check, number, raise_problems, whole


@dataclass(frozen=True)
class Settings:
    """Optimiser settings; the defaults are the inversion script's (style transfer: weight_decay 5e-3)."""

    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    clip_gradient: float = 10.0
    lr_step: int = 10
    lr_factor: float = 0.9
    stop_eps: float = 0.005
    max_iterations: int = 1000
    init_range: float = 0.1
    log_every: int = 50

    def __post_init__(self):
        raise_problems(self.problems())

    def problems(self) -> Iterator[Problem]:
        """Every rule the settings break, as (field, value, message)."""
        for name, rule in (("learning_rate", number("learning_rate", 0, low_open=True)),
                           ("momentum", number("momentum", 0, 1, high_open=True)),
                           ("weight_decay", number("weight_decay", 0)),
                           ("clip_gradient", number("clip_gradient", 0, low_open=True)),
                           ("lr_step", whole("lr_step", 1)), ("lr_factor", number("lr_factor", 0, low_open=True)),
                           ("stop_eps", number("stop_eps", 0)), ("max_iterations", whole("iterations", 1)),
                           ("init_range", number("init_range", 0)), ("log_every", whole("log_every", 1))):
            yield from check(name, getattr(self, name), rule)


def learning_rate(update: int, s: Settings) -> float:
    """mx.lr_scheduler.FactorScheduler(step, factor) at update ``update`` (1-based)."""
    return s.learning_rate * s.lr_factor ** ((update - 1) // s.lr_step)


def initial_image(shape: Tuple[int, ...], seed: int, s: Settings) -> np.ndarray:
    """x0 ~ uniform(-init_range, init_range) in the mean-removed space."""
    return np.random.default_rng([seed, 0]).uniform(-s.init_range, s.init_range, shape).astype(np.float32)


@dataclass
class Outcome:
    """How one sample's optimisation ended: the image reached and why it stopped."""

    x: np.ndarray
    iterations: int
    stop_reason: str  # "converged" | "max_iterations" | "non_finite"
    seconds_per_iteration: float
    history: List[Tuple[int, float, float]] = field(default_factory=list)  # (update, loss, relative change)
    batch_size: int = 1


class SGD:
    """The update of the spec on a batch of images, in place, with preallocated state."""

    def __init__(self, graph, s: Settings):
        from ..backend.mx import mx  # here, not at the top: the CLI and spawned workers import this module first

        self.mx, self.graph, self.s = mx, graph, s
        x = graph.data
        n = x.shape[0]
        self.mom, self.previous = mx.nd.zeros_like(x), mx.nd.zeros_like(x)
        self._flat_x, self._flat_mom = x.reshape((n, -1)), self.mom.reshape((n, -1))  # views
        self._norms = [mx.nd.zeros((n,), x.context) for _ in range(3)]  # ||mom||, ||x||, their ratio

    def step(self, update: int) -> np.ndarray:
        """Forward, backward, one SGD update; returns each sample's ||x_t - x_t-1|| / ||x_t||."""
        mx, x, s = self.mx, self.graph.data, self.s
        x.copyto(self.previous)
        self.graph.step()
        mx.nd.sgd_mom_update(x, self.graph.grad, self.mom, out=x, lr=learning_rate(update, s), momentum=s.momentum,
                             wd=s.weight_decay, clip_gradient=s.clip_gradient)
        moved, norm, change = self._norms
        mx.nd.norm(self._flat_mom, axis=1, out=moved)
        mx.nd.norm(self._flat_x, axis=1, out=norm)
        mx.nd.broadcast_div(moved, norm, out=change)
        return change.asnumpy()  # note: the one host sync per update, which the stopping test needs


def optimise(graph, x0: np.ndarray, s: Settings, log: Optional[Callable[[str], None]] = None,
             on_stop: Optional[Callable[[List[int], List[Outcome]], None]] = None, save_every: int = 0,
             on_snapshot: Optional[Callable[[int, List[int], np.ndarray], None]] = None) -> List[Outcome]:
    """Run SGD on ``graph.data`` (a batch of N images) from ``x0`` until every sample has stopped.

    Each sample keeps its own stopping test and is frozen once it stops, so a batch gives the images
    of N separate runs; ``on_stop(indices, outcomes)`` hears of samples as they stop (the batch's
    data then holds their final images). A sample that turns non-finite keeps its last finite image.
    Every ``save_every`` updates, ``on_snapshot(update, running samples, images)`` gets the batch's images.
    """
    x = graph.data
    n = x.shape[0]
    x[:] = x0
    sgd = SGD(graph, s)
    iterations, reasons = [0] * n, [""] * n
    frozen: dict = {}  # sample -> its final image, restored after every batch update
    outcomes: dict = {}
    histories: List[list] = [[] for _ in range(n)]  # per sample: (update, its loss, its relative change)
    start = time.perf_counter()

    def stop(indices: List[int], update: int) -> None:
        seconds = (time.perf_counter() - start) / max(1, update)
        for i in indices:
            final = frozen[i] if i in frozen else x[i:i + 1]
            outcomes[i] = Outcome(final.asnumpy(), iterations[i], reasons[i] or "max_iterations", seconds,
                                  histories[i], n)
        if on_stop:
            on_stop(indices, [outcomes[i] for i in indices])

    for update in range(1, s.max_iterations + 1):
        running = [i for i in range(n) if i not in frozen]
        change = sgd.step(update)
        losses = graph.sample_losses()  # of the images before this update; synced with ``change`` already
        for i in frozen:
            x[i:i + 1] = frozen[i]
        for i in running:
            if not math.isfinite(change[i]):
                x[i:i + 1] = sgd.previous[i:i + 1]
                reasons[i], frozen[i] = "non_finite", sgd.previous[i:i + 1].copy()
            else:
                iterations[i] = update
                histories[i].append((update, float(losses[i]), float(change[i])))
                if change[i] < s.stop_eps:
                    reasons[i], frozen[i] = "converged", x[i:i + 1].copy()
        if log and (update % s.log_every == 0 or update == 1):
            _log(log, update, n - len(frozen), n, float(np.sum(losses)), change, running, s)
        if on_snapshot and save_every and update % save_every == 0:
            on_snapshot(update, running, x.asnumpy())  # note: a copy to the host every save_every updates
        newly = [i for i in running if i in frozen]
        if newly and len(frozen) < n:
            stop(newly, update)
        if len(frozen) == n:
            break
    stop([i for i in range(n) if i not in outcomes], update)
    return [outcomes[i] for i in range(n)]


def _log(log, update: int, live: int, n: int, loss: float, change, running, s: Settings) -> None:
    changes = [float(change[i]) for i in running if math.isfinite(change[i])]
    log(f"iter {update:4d}  loss {loss:.4e}  rel change {max(changes, default=float('nan')):.4f}  "
        f"lr {learning_rate(update, s):.4g}" + (f"  ({live} of {n} running)" if n > 1 else ""))
