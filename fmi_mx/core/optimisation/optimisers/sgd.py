"""The original scripts' optimiser: MXNet SGD with momentum on the image alone.

Per update t: lr_t = lr * factor^floor((t-1)/step); mom = momentum*mom - lr_t*(clip(g) + wd*x); x += mom.
"""
from typing import Callable, List, Tuple

import numpy as np

from ..settings import Settings


def learning_rate(update: int, s: Settings) -> float:
    """mx.lr_scheduler.FactorScheduler(step, factor) at update ``update`` (1-based)."""
    sgd = s.sgd
    return sgd.learning_rate * sgd.lr_factor ** ((update - 1) // sgd.lr_step)


class SGD:
    """The original's update on a batch of images, in place, with preallocated state."""

    refills = True  # a slot steps on its own, so a new job can take it mid-run

    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        from ....backend.mx import mx

        self.mx, self.graph, self.s, self.gradient = mx, graph, s, gradient
        self.evaluations = 0
        x = graph.data
        n = x.shape[0]
        self.mom, self.previous = mx.nd.zeros_like(x), mx.nd.zeros_like(x)
        self._flat_x, self._flat_mom = x.reshape((n, -1)), self.mom.reshape((n, -1))  # views
        self._norms = [mx.nd.zeros((n,), x.context) for _ in range(3)]  # ||mom||, ||x||, their ratio

    @staticmethod
    def state_images(s: Settings) -> int:
        """Image-sized buffers beyond its momentum and previous image (the memory estimate's baseline)."""
        return 0

    def step(self, counts: np.ndarray, running: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Forward, backward and one update, each sample at its own update count ``counts[i]``, so its own
        learning rate (a stream's slots hold jobs that started at different times): one fused update for the
        batch while the rates agree, else one per sample, so each sample's numbers are those of a separate run."""
        mx, x, s = self.mx, self.graph.data, self.s
        x.copyto(self.previous)
        self.gradient()
        self.evaluations += 1
        rates = [learning_rate(max(1, int(c)), s) for c in counts]
        parts = [(slice(None), rates[0])] if len(set(rates)) == 1 else [(slice(i, i + 1), r) for i, r in enumerate(rates)]
        for part, rate in parts:
            mx.nd.sgd_mom_update(x[part], self.graph.grad[part], self.mom[part], out=x[part], lr=rate,
                                 momentum=s.sgd.momentum, wd=s.weight_decay, clip_gradient=s.sgd.clip_gradient)
        moved, norm, change = self._norms
        mx.nd.norm(self._flat_mom, axis=1, out=moved)
        mx.nd.norm(self._flat_x, axis=1, out=norm)
        mx.nd.broadcast_div(moved, norm, out=change)
        return change.asnumpy(), self.graph.sample_losses()  # note: the one host sync per update

    def reset(self, i: int) -> None:
        """Sample ``i`` starts afresh (a new job in its slot): no momentum."""
        self.mom[i:i + 1] = 0

    def describe(self, update: int) -> str:
        return f"lr {learning_rate(update, self.s):.4g}"
