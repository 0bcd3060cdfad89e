"""Jitter (Lucid's transformation robustness): each gradient is taken at the image shifted by a fresh
random offset, so the result cannot rely on exact pixel positions.

Each sample draws its own shifts from its seed, so a batch gives the images of separate runs.
"""
from typing import Sequence

import numpy as np


class Jitter:
    """``gradient()`` stands in for ``graph.step()``: forward and backward at circularly shifted images,
    then ``graph.data`` is shifted back and ``graph.grad`` holds the gradient for the unshifted images."""

    def __init__(self, graph, pixels: int, seeds: Sequence[int]):
        self.graph, self.pixels = graph, pixels
        self.rngs = [np.random.default_rng([seed, 2]) for seed in seeds]

    def reseed(self, i: int, seed: int) -> None:
        """Sample ``i`` is a new job: its shifts come from its own seed, as in a separate run."""
        self.rngs[i] = np.random.default_rng([seed, 2])

    def gradient(self) -> None:
        shifts = [tuple(int(v) for v in rng.integers(-self.pixels, self.pixels + 1, 2)) for rng in self.rngs]
        for i, (dy, dx) in enumerate(shifts):
            roll(self.graph.data, i, dy, dx)
        self.graph.step()
        for i, (dy, dx) in enumerate(shifts):
            roll(self.graph.data, i, -dy, -dx)
            roll(self.graph.grad, i, -dy, -dx)  # d L(roll(x)) / dx = roll back of the gradient at roll(x)


def roll(array, i: int, dy: int, dx: int) -> None:
    """``np.roll`` of sample ``i`` of an (N, C, H, W) NDArray by (dy, dx), in place on its device."""
    from ...backend.mx import mx

    sample = array[i:i + 1]
    for axis, shift in ((2, dy), (3, dx)):
        size = sample.shape[axis]
        k = shift % size
        if k:
            sample = mx.nd.concat(mx.nd.slice_axis(sample, axis=axis, begin=size - k, end=size),
                                  mx.nd.slice_axis(sample, axis=axis, begin=0, end=size - k), dim=axis)
    array[i:i + 1] = sample
