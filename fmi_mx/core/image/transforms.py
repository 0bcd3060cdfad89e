"""Transformation robustness (Lucid): before each gradient the image is padded, shifted, scaled, rotated and
shifted again at random, so the result cannot lean on exact pixel positions.

In the graph this is one stage between the image and the network: a constant padding of ``pad`` px (the
mean colour, 0 in the network's input), then one affine resampling (``GridGenerator`` + bilinear
``BilinearSampler``) whose matrix per sample is fed each update. The matrix composes Lucid's chain,
jitter (``jitter`` px), scale (1 +- ``scale``), rotation (+- ``rotate`` degrees), jitter (``shift`` px),
each draw from the sample's own seed, so a batch gives the transforms of separate runs. Every transform,
a jitter alone included, is this one stage: a shift moves the image by whole pixels and the pixels it
uncovers are the mean colour (Lucid's crop of a padded image), whatever the parameterisation.
"""
import math
from typing import Sequence

import numpy as np


def draw(rng: np.random.Generator, transform, height: int, width: int) -> np.ndarray:
    """One sample's affine matrix (2, 3) in the sampler's normalised coordinates ([-1, 1] across the padded
    image): where each output position reads the padded input."""
    h, w = height + 2 * transform.pad, width + 2 * transform.pad
    first = rng.integers(-transform.jitter, transform.jitter + 1, 2) if transform.jitter else np.zeros(2)
    scale = rng.uniform(1 - transform.scale, 1 + transform.scale) if transform.scale else 1.0
    angle = math.radians(rng.uniform(-transform.rotate, transform.rotate)) if transform.rotate else 0.0
    second = rng.integers(-transform.shift, transform.shift + 1, 2) if transform.shift else np.zeros(2)
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    units_y, units_x = (h - 1) / 2.0, (w - 1) / 2.0  # px per normalised unit: -1 and 1 are the edge pixels' centres
    ty = (first[0] + second[0]) / units_y
    tx = (first[1] + second[1]) / units_x
    return np.array([[cos, -sin * units_y / units_x, tx], [sin * units_x / units_y, cos, ty]], np.float32)  # (x, y) rows


def symbol(image, view, height: int, width: int):
    """The stage in the graph: ``image`` padded by ``view.pad`` and resampled by the per-sample matrices in
    ``affine``."""
    from ...backend.mx import mx

    pad = view.pad
    padded = mx.sym.pad(image, mode="constant", constant_value=0.0, pad_width=(0, 0, 0, 0, pad, pad, pad, pad)) \
        if pad else image
    grid = mx.sym.GridGenerator(mx.sym.Variable("affine"), transform_type="affine",
                                target_shape=(height + 2 * pad, width + 2 * pad))
    return mx.sym.BilinearSampler(padded, grid)


class Transforms:
    """``gradient()`` stands in for ``graph.step()``: each sample's matrix drawn afresh from its seed, then
    forward and backward through the stage."""

    def __init__(self, graph, transform, seeds: Sequence[int]):
        self.graph, self.transform = graph, transform
        self.rngs = [np.random.default_rng([seed, 3]) for seed in seeds]

    def reseed(self, i: int, seed: int) -> None:
        """Sample ``i`` is a new job: its transforms come from its own seed, as in a separate run."""
        self.rngs[i] = np.random.default_rng([seed, 3])

    def matrices(self) -> np.ndarray:
        """The next matrix of every sample, (N, 6)."""
        height, width = self.graph.image_size
        return np.stack([draw(rng, self.transform, height, width).ravel() for rng in self.rngs])

    def gradient(self) -> None:
        self.graph.set_affine(self.matrices())
        self.graph.step()
