"""Adam (Kingma & Ba) on the image through MXNet's own ``adam_update``, bias-corrected as
``mx.optimizer.Adam`` does; no gradient clipping (Adam's steps are bounded by its learning rate)."""
import math
from typing import Callable, List, Tuple

import numpy as np

from ..settings import Settings


class Adam:
    refills = True  # a slot steps on its own, so a new job can take it mid-run

    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        from ....backend.mx import mx

        self.mx, self.graph, self.s, self.gradient = mx, graph, s, gradient
        self.evaluations = 0
        x = graph.data
        self.mean, self.var, self.previous = (mx.nd.zeros_like(x) for _ in range(3))

    @staticmethod
    def state_images(s: Settings) -> int:
        """Image-sized buffers beyond SGD's: the second moment."""
        return 1

    def step(self, counts: np.ndarray, running: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Forward, backward and one update, each sample at its own update count (its own bias correction):
        one fused update for the batch while the counts agree, else one per sample."""
        mx, x, s = self.mx, self.graph.data, self.s
        x.copyto(self.previous)
        self.gradient()
        self.evaluations += 1
        rates = [self.rate(max(1, int(count))) for count in counts]
        parts = [(slice(None), rates[0])] if len(set(rates)) == 1 else [(slice(i, i + 1), r) for i, r in enumerate(rates)]
        for part, rate in parts:
            mx.nd.adam_update(x[part], self.graph.grad[part], self.mean[part], self.var[part], out=x[part], lr=rate,
                              beta1=s.adam.beta1, beta2=s.adam.beta2, epsilon=s.adam.epsilon, wd=s.weight_decay)
        return relative_change(x, self.previous), self.graph.sample_losses()

    def reset(self, i: int) -> None:
        """Sample ``i`` starts afresh: no moments."""
        self.mean[i:i + 1] = 0
        self.var[i:i + 1] = 0

    def rate(self, update: int) -> float:
        a = self.s.adam
        return a.learning_rate * math.sqrt(1.0 - a.beta2 ** update) / (1.0 - a.beta1 ** update)

    def describe(self, update: int) -> str:
        return f"lr {self.rate(update):.4g}"


def relative_change(x, previous) -> np.ndarray:
    """Each sample's ||x - previous|| / ||x||, computed on the device (n numbers come back)."""
    from ....backend.mx import mx

    n = x.shape[0]
    moved = mx.nd.norm((x - previous).reshape((n, -1)), axis=1)
    return (moved / mx.nd.norm(x.reshape((n, -1)), axis=1)).asnumpy()
