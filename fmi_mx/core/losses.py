"""Loss terms of the spec as MXNet symbols, and the numpy statistics their targets are made of.

Every term is a per-sample sum, so a batch's gradient is the samples' gradients side by side.
  code:        weight * 1/2 ||F - T||^2                    (inversion; content loss of both style modes)
  gram:        weight * ||F F^T - G_s||^2 / (4 C^2 M)      (Gatys)
  channel_sum: weight * ||F 1 - t||^2 / (2 C M)            (PMCI, figure 5)
with F the layer's code as C x M (M = H W).
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from . import vgg
from ..errors import unknown

KINDS = ("code", "gram", "channel_sum")


@dataclass(frozen=True)
class Term:
    """One loss term: its kind, the layer it reads and its weight."""

    kind: str
    layer: str
    weight: float = 1.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise unknown("loss term", self.kind, KINDS)
        vgg.parse(self.layer)  # a VGG layer name; the graph checks that its network has it

    def target_shape(self, height: int, width: int) -> Tuple[int, ...]:
        """Shape of this term's target for one image (no batch axis)."""
        c, h, w = vgg.output_shape(self.layer, height, width)
        return {"code": (c, h, w), "gram": (c, c), "channel_sum": (c,)}[self.kind]

    def target(self, code: np.ndarray) -> np.ndarray:
        """The statistic of a code (C, H, W) that this term compares: the code itself, its Gram, its sums."""
        return statistic(self.kind, code).astype(np.float32)

    def symbol(self, feature, target, height: int, width: int):
        """The term per sample, a (batch,) symbol wrapped in ``MakeLoss`` (head gradient 1)."""
        from ..backend.mx import mx

        c, h, w = vgg.output_shape(self.layer, height, width)
        m = h * w
        if self.kind == "code":
            loss = 0.5 * self.weight * mx.sym.sum(mx.sym.square(feature - target), axis=(1, 2, 3))
        elif self.kind == "gram":
            flat = mx.sym.Reshape(feature, shape=(0, 0, -1))
            grams = mx.sym.batch_dot(flat, flat, transpose_b=True)
            loss = self.weight / (4.0 * c * c * m) * mx.sym.sum(mx.sym.square(grams - target), axis=(1, 2))
        else:
            sums = mx.sym.sum(feature, axis=(2, 3))
            loss = self.weight / (2.0 * c * m) * mx.sym.sum(mx.sym.square(sums - target), axis=1)
        return mx.sym.MakeLoss(loss)


def gram(code: np.ndarray) -> np.ndarray:
    """G = F F^T for a code (C, H, W)."""
    flat = code.reshape(code.shape[0], -1).astype(np.float64)
    return flat @ flat.T


def channel_sums(code: np.ndarray) -> np.ndarray:
    """t = F 1: each channel's sum over positions."""
    return code.sum(axis=(1, 2), dtype=np.float64)


def statistic(kind: str, code: np.ndarray) -> np.ndarray:
    """What a term of ``kind`` compares: the code itself, its Gram matrix or its channel sums."""
    return {"code": np.asarray, "gram": gram, "channel_sum": channel_sums}[kind](code)


def value(term: Term, code: np.ndarray, target: np.ndarray) -> float:
    """Reference value of a term for one code, in float64 numpy (for tests and reports)."""
    c = code.shape[0]
    m = code.shape[1] * code.shape[2]
    diff = statistic(term.kind, code.astype(np.float64)) - target
    norm = {"code": 2.0, "gram": 4.0 * c * c * m, "channel_sum": 2.0 * c * m}[term.kind]
    return float(term.weight * np.sum(diff * diff) / norm)


TV_EPS = 1e-8  # keeps the gradient of (d^2)^(beta/2) finite at d = 0 for beta < 2


def total_variation(data, weight: float, beta: float):
    """Mahendran & Vedaldi's prior per sample: weight * sum over channels and pixels of
    ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2)^(beta/2), as a ``MakeLoss`` symbol."""
    from ..backend.mx import mx

    def part(axis, begin, end):
        return mx.sym.slice_axis(data, axis=axis, begin=begin, end=end)

    inner = mx.sym.slice_axis(part(2, 0, -1), axis=3, begin=0, end=-1)  # x[i, j], i < H-1, j < W-1
    right = mx.sym.slice_axis(part(2, 0, -1), axis=3, begin=1, end=None)  # x[i, j+1]
    down = mx.sym.slice_axis(part(2, 1, None), axis=3, begin=0, end=-1)  # x[i+1, j]
    squared = mx.sym.square(right - inner) + mx.sym.square(down - inner) + TV_EPS
    return mx.sym.MakeLoss(weight * mx.sym.sum(mx.sym.power(squared, beta / 2.0), axis=(1, 2, 3)))


def total_variation_value(x: np.ndarray, weight: float, beta: float) -> float:
    """Reference value of the prior for one image (C, H, W), in float64 numpy."""
    x = x.astype(np.float64)
    inner = x[:, :-1, :-1]
    squared = np.square(x[:, :-1, 1:] - inner) + np.square(x[:, 1:, :-1] - inner) + TV_EPS
    return float(weight * np.sum(squared ** (beta / 2.0)))
