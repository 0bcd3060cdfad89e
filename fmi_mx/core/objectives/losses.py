"""The graph's loss heads as classes. Every head owns its MXNet symbol, its float64 reference value and its
memory footprint; a term on a layer's code also owns the statistic of a code that makes its target, and a
prior on the image (total variation) reads the image itself, with no target.

With F a layer's code as C x M (M = H W), per sample:
  CodeTerm:        weight * 1/2 ||F - T||^2                 (inversion; content loss of both style modes)
  GramTerm:        weight * ||F F^T - G_s||^2 / (4 C^2 M)   (Gatys)
  ChannelSumTerm:  weight * ||F 1 - t||^2 / (2 C M)         (PMCI, figure 5)
Every term is a per-sample sum, so a batch's gradient is the samples' gradients side by side. A new
objective is one more subclass of ``Term``, a new prior one more subclass of ``Head``.
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

class Head:
    """What every loss head of the graph answers, per sample: its name, its symbol, its reference value
    and the floats MXNet's memory plan adds for it."""

    NAME: ClassVar[str] = ""  # how records and graph variables name it

    def plan_floats(self, c: int, h: int, w: int) -> int:
        """Floats MXNet's memory plan adds for this head per sample, for a source of C x H x W."""
        raise NotImplementedError

    def symbol(self, source, target, height: int, width: int):
        """The head per sample, a (batch,) symbol wrapped in ``MakeLoss`` (head gradient 1), of what it reads
        (a layer's code, or the image) and its target (None for a head without one)."""
        raise NotImplementedError

    def value(self, source: np.ndarray, target) -> float:
        """Reference value of the head for one sample's source (C, H, W), in float64 numpy."""
        raise NotImplementedError


@dataclass(frozen=True)
class Term(Head):
    """One loss term on a layer's code, with its weight: beyond a head, its statistic, target and its shape."""

    layer: str
    weight: float = 1.0

    NORM: ClassVar[str] = ""  # its normaliser, for the docs
    COUPLED: ClassVar[bool] = False  # does a sample's value depend on the other samples of its batch?
    RESIDENT_BUFFERS: ClassVar[int] = 0  # layer-sized buffers a process holds for it beyond MXNet's plan

    def __post_init__(self):
        vgg.parse(self.layer)  # a VGG layer name; the graph checks that its network has it

    def statistic(self, code: np.ndarray) -> np.ndarray:
        """What the term compares, of one code (C, H, W), in float64."""
        raise NotImplementedError

    def target_shape(self, height: int, width: int) -> Tuple[int, ...]:
        """Shape of this term's target for one image (no batch axis)."""
        raise NotImplementedError

    def target(self, code: np.ndarray) -> np.ndarray:
        """This term's target from a code (C, H, W): its statistic, as float32."""
        return self.statistic(code).astype(np.float32)



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
class TotalVariation(Head):
    """Mahendran & Vedaldi's prior per sample: weight * sum over channels and pixels of
    ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2)^(beta/2), a loss head on the image itself."""

    weight: float
    beta: float = 2.0

    NAME: ClassVar[str] = "total_variation"
    BUFFERS: ClassVar[int] = 4  # image-sized buffers its differences keep

    def plan_floats(self, c, h, w):
        return self.BUFFERS * c * h * w

    def symbol(self, source, target=None, height: int = 0, width: int = 0):
        """The prior of the image ``source``; it has no target."""
        from ...backend.mx import mx

        data = source

        def part(axis, begin, end):
            return mx.sym.slice_axis(data, axis=axis, begin=begin, end=end)

        inner = mx.sym.slice_axis(part(2, 0, -1), axis=3, begin=0, end=-1)  # x[i, j], i < H-1, j < W-1
        right = mx.sym.slice_axis(part(2, 0, -1), axis=3, begin=1, end=None)  # x[i, j+1]
        down = mx.sym.slice_axis(part(2, 1, None), axis=3, begin=0, end=-1)  # x[i+1, j]
        squared = mx.sym.square(right - inner) + mx.sym.square(down - inner) + TV_EPS
        return mx.sym.MakeLoss(self.weight * mx.sym.sum(mx.sym.power(squared, self.beta / 2.0), axis=(1, 2, 3)))

    def value(self, source: np.ndarray, target=None) -> float:
        x = source.astype(np.float64)
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


DIVERSITY_EPS = 1e-10  # keeps the Gram matrix's normalisation finite for a code that is all zero


@dataclass(frozen=True)
class DiversityTerm(Term):
    """Lucid's diversity across a batch of visualisations: each sample's Gram matrix at the layer, scaled to
    unit norm, and its cosine similarity with every other sample's, summed and divided by the batch size;
    weight * that is the sample's loss, so minimising it pushes the batch's textures apart. It couples the
    samples, so its batch is one run: never padded, never streamed. No target (a one-zero placeholder)."""

    NAME: ClassVar[str] = "diversity"
    COUPLED: ClassVar[bool] = True
    RESIDENT_BUFFERS: ClassVar[int] = 0

    def statistic(self, code):
        """The code's Gram matrix, flattened and scaled to unit norm."""
        gram = gram_matrix(code).ravel()
        return gram / max(np.linalg.norm(gram), DIVERSITY_EPS)

    def target_shape(self, height, width):
        return (1,)

    def target(self, code):
        return np.zeros(1, np.float32)

    def plan_floats(self, c, h, w):
        return 3 * c * c + c * h * w  # the Gram matrix, its normalised copy and gradient; the code's gradient

    def symbol(self, feature, target, height, width):
        from ...backend.mx import mx

        flat = mx.sym.Reshape(feature, shape=(0, 0, -1))
        gram = mx.sym.Reshape(mx.sym.batch_dot(flat, flat, transpose_b=True), shape=(0, -1))
        norm = mx.sym.sqrt(mx.sym.sum(mx.sym.square(gram), axis=1, keepdims=True) + DIVERSITY_EPS ** 2)
        unit = mx.sym.broadcast_div(gram, norm)
        similarity = mx.sym.dot(unit, unit, transpose_b=True)  # (batch, batch)
        others = mx.sym.sum(similarity, axis=1) - mx.sym.sum(mx.sym.square(unit), axis=1)
        batch = mx.sym.sum(mx.sym.ones_like(others))
        return mx.sym.MakeLoss(self.weight * mx.sym.broadcast_div(others, batch))

    def value(self, source, target):
        """Reference values for a batch of codes (B, C, H, W), one per sample: the term is the batch's."""
        units = np.stack([self.statistic(code.astype(np.float64)) for code in source])
        similarity = units @ units.T
        return self.weight * (similarity.sum(axis=1) - np.diag(similarity)) / len(units)
