"""The original scripts' optimiser: MXNet SGD with momentum on the image alone.

Per update t: lr_t = lr * factor^floor((t-1)/step); mom = momentum*mom - lr_t*(clip(g) + wd*x); x += mom.
"""
from typing import Callable

import numpy as np

from ..settings import Settings
from .first_order import FirstOrder


def learning_rate(update: int, s: Settings) -> float:
    """mx.lr_scheduler.FactorScheduler(step, factor) at update ``update`` (1-based)."""
    sgd = s.sgd
    return sgd.learning_rate * sgd.lr_factor ** ((update - 1) // sgd.lr_step)


class SGD(FirstOrder):
    """The original's update on a batch of images, in place, with preallocated state."""

    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        super().__init__(graph, s, gradient)
        x, n = graph.data, graph.data.shape[0]
        self.mom = self.mx.nd.zeros_like(x)
        self._flat_x, self._flat_mom = x.reshape((n, -1)), self.mom.reshape((n, -1))  # views
        self._norms = [self.mx.nd.zeros((n,), x.context) for _ in range(3)]  # ||mom||, ||x||, their ratio

    @staticmethod
    def state_images(s: Settings) -> int:
        """Image-sized buffers beyond its momentum and previous image (the memory estimate's baseline)."""
        return 0

    def rate(self, update: int) -> float:
        return learning_rate(update, self.s)

    def update(self, part: slice, rate: float) -> None:
        x, s = self.graph.data, self.s
        self.mx.nd.sgd_mom_update(x[part], self.graph.grad[part], self.mom[part], out=x[part], lr=rate,
                                  momentum=s.sgd.momentum, wd=s.weight_decay, clip_gradient=s.sgd.clip_gradient)

    def change(self) -> np.ndarray:
        """||mom|| / ||x|| per sample: the update just made is the momentum."""
        moved, norm, change = self._norms
        self.mx.nd.norm(self._flat_mom, axis=1, out=moved)
        self.mx.nd.norm(self._flat_x, axis=1, out=norm)
        self.mx.nd.broadcast_div(moved, norm, out=change)
        return change.asnumpy()

    def reset(self, i: int) -> None:
        self.mom[i:i + 1] = 0
