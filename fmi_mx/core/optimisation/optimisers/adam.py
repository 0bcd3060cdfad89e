"""Adam (Kingma & Ba) on the image through MXNet's own ``adam_update``, bias-corrected as
``mx.optimizer.Adam`` does; no gradient clipping (Adam's steps are bounded by its learning rate)."""
import math
from typing import Callable

import numpy as np

from ..settings import Settings
from .first_order import FirstOrder


class Adam(FirstOrder):
    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        super().__init__(graph, s, gradient)
        self.mean, self.var = (self.mx.nd.zeros_like(graph.data) for _ in range(2))

    @staticmethod
    def state_images(s: Settings) -> int:
        """Image-sized buffers beyond SGD's: the second moment."""
        return 1

    def rate(self, update: int) -> float:
        """The learning rate with Adam's bias correction at ``update``."""
        a = self.s.adam
        return a.learning_rate * math.sqrt(1.0 - a.beta2 ** update) / (1.0 - a.beta1 ** update)

    def update(self, part: slice, rate: float) -> None:
        x, s = self.graph.data, self.s
        self.mx.nd.adam_update(x[part], self.graph.grad[part], self.mean[part], self.var[part], out=x[part], lr=rate,
                               beta1=s.adam.beta1, beta2=s.adam.beta2, epsilon=s.adam.epsilon, wd=s.weight_decay)

    def change(self) -> np.ndarray:
        return relative_change(self.graph.data, self.previous)

    def reset(self, i: int) -> None:
        self.mean[i:i + 1] = 0
        self.var[i:i + 1] = 0


def relative_change(x, previous) -> np.ndarray:
    """Each sample's ||x - previous|| / ||x||, computed on the device (n numbers come back)."""
    from ....backend.mx import mx

    n = x.shape[0]
    moved = mx.nd.norm((x - previous).reshape((n, -1)), axis=1)
    return (moved / mx.nd.norm(x.reshape((n, -1)), axis=1)).asnumpy()
