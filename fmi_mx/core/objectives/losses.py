"""Loss terms as classes, each owning what it compares: the statistic of a code that makes its target,
its MXNet symbol, its float64 reference value and its memory footprint; and the total-variation prior.

With F a layer's code as C x M (M = H W), per sample:
  CodeTerm:        weight * 1/2 ||F - T||^2                 (inversion; content loss of both style modes)
  GramTerm:        weight * ||F F^T - G_s||^2 / (4 C^2 M)   (Gatys)
  ChannelSumTerm:  weight * ||F 1 - t||^2 / (2 C M)         (PMCI, figure 5)
Every term is a per-sample sum, so a batch's gradient is the samples' gradients side by side. A new
objective is one more subclass of ``Term``.
"""
from dataclasses import dataclass
from typing import ClassVar, Tuple

import numpy as np

from ..network import vgg



def gram_matrix(code: np.ndarray) -> np.ndarray:
    """G = F F^T of one code (C, H, W) flattened to (C, M), in float64: Gatys' style statistic."""
    flat = code.reshape(code.shape[0], -1).astype(np.float64)
    return flat @ flat.T


def channel_sums(code: np.ndarray) -> np.ndarray:
    """Each channel's sum over positions of one code (C, H, W), in float64: PMCI's style statistic."""
    return code.sum(axis=(1, 2), dtype=np.float64)

@dataclass(frozen=True)
class Term:
    """One loss term on a layer's code, with its weight: what every term answers (its statistic, target,
    symbol, reference value and memory)."""

    layer: str
    weight: float = 1.0

    NAME: ClassVar[str] = ""  # how records and graph variables name it
    NORM: ClassVar[str] = ""  # its normaliser, for the docs
    RESIDENT_BUFFERS: ClassVar[int] = 0  # layer-sized buffers a process holds for it beyond MXNet's plan

    def __post_init__(self):
        vgg.parse(self.layer)  # a VGG layer name; the graph checks that its network has it

    def statistic(self, code: np.ndarray) -> np.ndarray:
        """What the term compares, of one code (C, H, W), in float64."""
        raise NotImplementedError

    def target_shape(self, height: int, width: int) -> Tuple[int, ...]:
        """Shape of this term's target for one image (no batch axis)."""
        raise NotImplementedError

    def plan_floats(self, c: int, h: int, w: int) -> int:
        """Floats MXNet's memory plan adds for this term per sample (its statistic and gradient buffers)."""
        raise NotImplementedError

    def target(self, code: np.ndarray) -> np.ndarray:
        """This term's target from a code (C, H, W): its statistic, as float32."""
        return self.statistic(code).astype(np.float32)

    def symbol(self, feature, target, height: int, width: int):
        """The term per sample, a (batch,) symbol wrapped in ``MakeLoss`` (head gradient 1)."""
        raise NotImplementedError

    def value(self, code: np.ndarray, target: np.ndarray) -> float:
        """Reference value of the term for one code, in float64 numpy (for tests and reports)."""
        raise NotImplementedError


@dataclass(frozen=True)
class SquaredTerm(Term):
    """weight * ||statistic(F) - T||^2 / normaliser: the code, Gram and channel-sum terms."""

    def normaliser(self, c: int, m: int) -> float:
        """The divisor of the squared difference for a code of C channels and M positions."""
        raise NotImplementedError

    def difference(self, mx, feature, target):
        """(batch, ...) symbol of the statistic of ``feature`` minus ``target``."""
        raise NotImplementedError

    def symbol(self, feature, target, height: int, width: int):
        from ...backend.mx import mx

        c, h, w = vgg.output_shape(self.layer, height, width)
        diff = self.difference(mx, feature, target)
        axes = tuple(range(1, 1 + len(self.target_shape(height, width))))
        return mx.sym.MakeLoss(self._scale(c, h * w) * mx.sym.sum(mx.sym.square(diff), axis=axes))

    def _scale(self, c: int, m: int):
        return self.weight / self.normaliser(c, m)

    def value(self, code, target):
        c, m = code.shape[0], code.shape[1] * code.shape[2]
        diff = self.statistic(code.astype(np.float64)) - target
        return float(self.weight * np.sum(diff * diff) / self.normaliser(c, m))


@dataclass(frozen=True)
class CodeTerm(SquaredTerm):
    """weight * 1/2 ||F - T||^2: the code itself is the target."""

    NAME: ClassVar[str] = "code"
    RESIDENT_BUFFERS: ClassVar[int] = 5

    def statistic(self, code):
        return np.asarray(code)

    def target_shape(self, height, width):
        return vgg.output_shape(self.layer, height, width)

    def normaliser(self, c, m):
        return 2.0

    def difference(self, mx, feature, target):
        return feature - target

    def plan_floats(self, c, h, w):
        return 0  # runs in place


@dataclass(frozen=True)
class GramTerm(SquaredTerm):
    """weight * ||F F^T - G||^2 / (4 C^2 M): Gatys' style term."""

    CONTENT_PER_POSITION: ClassVar[bool] = False  # Gatys: the content term is alpha/2 ||F - Fc||^2
    NAME: ClassVar[str] = "gram"
    RESIDENT_BUFFERS: ClassVar[int] = 2

    def statistic(self, code):
        return gram_matrix(code)

    def target_shape(self, height, width):
        c = vgg.output_shape(self.layer, height, width)[0]
        return (c, c)

    def normaliser(self, c, m):
        return 4.0 * c * c * m

    def difference(self, mx, feature, target):
        flat = mx.sym.Reshape(feature, shape=(0, 0, -1))
        return mx.sym.batch_dot(flat, flat, transpose_b=True) - target

    def plan_floats(self, c, h, w):
        return 2 * c * c + c * h * w  # the Gram matrices and their difference, the code's gradient


@dataclass(frozen=True)
class ChannelSumTerm(SquaredTerm):
    """weight * ||F 1 - t||^2 / (2 C M): PMCI's channel sums."""

    CONTENT_PER_POSITION: ClassVar[bool] = True  # PMCI: the content term is divided by the positions M
    NAME: ClassVar[str] = "channel_sum"
    RESIDENT_BUFFERS: ClassVar[int] = 4

    def statistic(self, code):
        return channel_sums(code)

    def target_shape(self, height, width):
        return vgg.output_shape(self.layer, height, width)[:1]

    def normaliser(self, c, m):
        return 2.0 * c * m

    def difference(self, mx, feature, target):
        return mx.sym.sum(feature, axis=(2, 3)) - target

    def plan_floats(self, c, h, w):
        return c * h * w  # the broadcast gradient of the sums


TV_EPS = 1e-8  # keeps the gradient of (d^2)^(beta/2) finite at d = 0 for beta < 2


@dataclass(frozen=True)
class TotalVariation:
    """Mahendran & Vedaldi's prior per sample: weight * sum over channels and pixels of
    ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2)^(beta/2), a loss head on the image itself."""

    weight: float
    beta: float = 2.0

    BUFFERS: ClassVar[int] = 4  # image-sized buffers its differences keep

    def symbol(self, data):
        """The prior as a (batch,) ``MakeLoss`` symbol of the image ``data``."""
        from ...backend.mx import mx

        def part(axis, begin, end):
            return mx.sym.slice_axis(data, axis=axis, begin=begin, end=end)

        inner = mx.sym.slice_axis(part(2, 0, -1), axis=3, begin=0, end=-1)  # x[i, j], i < H-1, j < W-1
        right = mx.sym.slice_axis(part(2, 0, -1), axis=3, begin=1, end=None)  # x[i, j+1]
        down = mx.sym.slice_axis(part(2, 1, None), axis=3, begin=0, end=-1)  # x[i+1, j]
        squared = mx.sym.square(right - inner) + mx.sym.square(down - inner) + TV_EPS
        return mx.sym.MakeLoss(self.weight * mx.sym.sum(mx.sym.power(squared, self.beta / 2.0), axis=(1, 2, 3)))

    def value(self, x: np.ndarray) -> float:
        """Reference value of the prior for one image (C, H, W), in float64 numpy."""
        x = x.astype(np.float64)
        inner = x[:, :-1, :-1]
        squared = np.square(x[:, :-1, 1:] - inner) + np.square(x[:, 1:, :-1] - inner) + TV_EPS
        return float(self.weight * np.sum(squared ** (self.beta / 2.0)))


@dataclass(frozen=True)
class ChannelObjective(Term):
    """Feature visualisation: -sign * weight * the mean over positions of the filter that the target (a one-hot
    selector over channels) picks; minimising it drives that filter's activation up (sign 1) or down (-1).
    The filter is in the target, not the graph, so visualisations of different filters share a batch."""

    sign: int = 1

    NAME: ClassVar[str] = "channel"
    RESIDENT_BUFFERS: ClassVar[int] = 1

    def statistic(self, code):
        """Each channel's mean activation."""
        return code.mean(axis=(1, 2), dtype=np.float64)

    def target_shape(self, height, width):
        return vgg.output_shape(self.layer, height, width)[:1]

    def picked(self, mx, feature, h: int, w: int):
        """(batch, C) symbol of each channel's contribution, before the selector picks one."""
        return mx.sym.mean(feature, axis=(2, 3))

    def plan_floats(self, c, h, w):
        return c * h * w  # the broadcast gradient

    def symbol(self, feature, target, height, width):
        from ...backend.mx import mx

        _, h, w = vgg.output_shape(self.layer, height, width)
        chosen = mx.sym.sum(self.picked(mx, feature, h, w) * target, axis=1)
        return mx.sym.MakeLoss(-self.sign * self.weight * chosen)

    def value(self, code, target):
        return float(-self.sign * self.weight * np.dot(self.statistic(code.astype(np.float64)), target))


@dataclass(frozen=True)
class NeuronObjective(ChannelObjective):
    """Feature visualisation of one neuron: ``ChannelObjective`` at the centre position (H // 2, W // 2) only."""

    NAME: ClassVar[str] = "neuron"

    def statistic(self, code):
        return code[:, code.shape[1] // 2, code.shape[2] // 2].astype(np.float64)

    def picked(self, mx, feature, h, w):
        centre = mx.sym.slice(feature, begin=(None, None, h // 2, w // 2), end=(None, None, h // 2 + 1, w // 2 + 1))
        return mx.sym.Reshape(centre, shape=(0, -1))
