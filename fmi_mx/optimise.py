"""The optimiser of both original scripts (spec "Optimisation"): MXNet SGD on the image alone.

Per update t: lr_t = lr * factor^floor((t-1)/step); mom = momentum*mom - lr_t*(clip(g) + wd*x);
x += mom. Stop when ||x_t - x_{t-1}|| / ||x_t|| < stop_eps, or after max_iterations updates.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import numpy as np

from ._mx import mx


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


def learning_rate(update: int, s: Settings) -> float:
    """mx.lr_scheduler.FactorScheduler(step, factor) at update ``update`` (1-based)."""
    return s.learning_rate * s.lr_factor ** ((update - 1) // s.lr_step)


def initial_image(shape: Tuple[int, ...], seed: int, s: Settings) -> np.ndarray:
    """x0 ~ uniform(-init_range, init_range) in the mean-removed space."""
    return np.random.default_rng([seed, 0]).uniform(-s.init_range, s.init_range, shape).astype(np.float32)


@dataclass
class Outcome:
    """How an optimisation ended: the image reached and why it stopped."""

    x: np.ndarray
    iterations: int
    stop_reason: str  # "converged" | "max_iterations" | "non_finite"
    seconds_per_iteration: float
    history: List[Tuple[int, float, float]] = field(default_factory=list)  # (update, loss, relative change)


def optimise(graph, x0: np.ndarray, s: Settings, log: Optional[Callable[[str], None]] = None) -> Outcome:
    """Run SGD on ``graph.data`` from ``x0`` until the spec's stopping test holds.

    On a non-finite image the last finite one is kept and the reason is ``non_finite``.
    """
    x, grad = graph.data, graph.grad
    x[:] = x0
    mom = mx.nd.zeros_like(x)
    previous = mx.nd.zeros_like(x)
    history, reason, done = [], "max_iterations", 0
    start = time.perf_counter()
    for update in range(1, s.max_iterations + 1):
        x.copyto(previous)
        graph.step()
        mx.nd.sgd_mom_update(x, grad, mom, out=x, lr=learning_rate(update, s), momentum=s.momentum,
                             wd=s.weight_decay, clip_gradient=s.clip_gradient)
        # note: the one host sync per update, which the stopping test needs
        change = (mx.nd.norm(mom) / mx.nd.norm(x)).asscalar()
        if not math.isfinite(change):
            previous.copyto(x)
            reason = "non_finite"
            break
        done = update
        if log and (update % s.log_every == 0 or update == 1):
            loss = sum(out.asscalar() for out in graph.loss_outputs())
            history.append((update, float(loss), float(change)))
            log(f"iter {update:4d}  loss {loss:.4e}  rel change {change:.4f}  lr {learning_rate(update, s):.4g}")
        if change < s.stop_eps:
            reason = "converged"
            break
    seconds = (time.perf_counter() - start) / max(1, update)
    return Outcome(x.asnumpy(), done, reason, seconds, history)
