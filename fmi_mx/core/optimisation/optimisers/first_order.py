"""What SGD and Adam share: a step over slots, each slot at its own update count, so its own rate."""
from typing import Callable, List, Tuple

import numpy as np

from ..settings import Settings


class FirstOrder:
    """One forward and backward, then each slot's update at the rate its own count gives: one fused update
    for the batch while the rates agree, else one per slot, so each slot's numbers are those of a separate
    run. Subclasses give the rate of a count, the update of a part of the batch, the change it made and
    how a slot starts afresh."""

    refills = True  # a slot steps on its own, so a new job can take it mid-run

    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        from ....backend.mx import mx

        self.mx, self.graph, self.s, self.gradient = mx, graph, s, gradient
        self.evaluations = 0
        self.previous = mx.nd.zeros_like(graph.data)

    def step(self, counts: np.ndarray, running: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        self.graph.data.copyto(self.previous)
        self.gradient()
        self.evaluations += 1
        rates = [self.rate(max(1, int(count))) for count in counts]
        parts = [(slice(None), rates[0])] if len(set(rates)) == 1 else \
            [(slice(i, i + 1), rate) for i, rate in enumerate(rates)]
        for part, rate in parts:
            self.update(part, rate)
        return self.change(), self.graph.sample_losses()  # note: the update's host syncs, changes and losses

    def rate(self, update: int) -> float:
        raise NotImplementedError

    def update(self, part: slice, rate: float) -> None:
        """The update of samples ``part`` of the batch, in place, at ``rate``."""
        raise NotImplementedError

    def change(self) -> np.ndarray:
        """Each sample's ||x_t - x_t-1|| / ||x_t||, on the host."""
        raise NotImplementedError

    def reset(self, i: int) -> None:
        """Sample ``i`` starts afresh (a new job in its slot): no optimiser state."""
        raise NotImplementedError

    def describe(self, update: int) -> str:
        return f"lr {self.rate(update):.4g}"
