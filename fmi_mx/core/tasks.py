"""The task kinds. Each answers for itself: the layers it reads, its loss terms for an image size, its
targets from codes, its metrics and its figure labels, and the rules its fields must keep.

``engine.Runner`` runs any kind without asking which one it holds; a new kind (activation
maximisation, say) is a new subclass of ``Task`` here and touches nothing else in ``core``.
"""
import dataclasses
import functools
from dataclasses import dataclass
from typing import ClassVar, Dict, Iterator, List, Optional, Tuple, Type

import numpy as np

from . import codes, vgg
from ..errors import choice, unknown
from .losses import Term, value
from .settings import Settings
from .rules import Problem, check, given, number, raise_problems, whole

Codes = Dict[str, np.ndarray]  # one image's codes (C, H, W) by layer name
MAX_SIZE = 4096  # px, the long edge; a 4096 px relu1_1 executor alone needs about 16 GB

STYLE_MODES = ("gram", "pmci")
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
STYLE_WEIGHT_DECAY = 5e-3  # vis_style.py's; the inversion script's 5e-4 is Settings' default


def _layer_list(field: str, names, net: vgg.Network) -> Iterator[Problem]:
    if not names:
        yield field, names, "needs at least one layer"
    for name in names:
        yield from check(field, name, net.layer)


@dataclass(frozen=True, kw_only=True)
class Task:
    """What every kind has: a content image (path or ``sample:NAME``), an optional style image, the
    network, the seed of the initial image, the long edge in px, the pooling, the saved picture's
    denoising and the optimiser settings. Fields are checked when the task is made (``Invalid`` lists
    them all)."""

    content: str
    style: Optional[str] = None
    network: str = vgg.DEFAULT
    seed: int = 0
    size: int = 512
    pooling: str = "avg"
    remove_noise: float = 0.2
    optimise: Settings = Settings()

    MODES: ClassVar[Tuple[str, ...]] = ()
    MODE_NAME: ClassVar[str] = "mode"

    def __post_init__(self):
        raise_problems(self.problems())

    @property
    def net(self) -> vgg.Network:
        """The network the task runs on (VGG-19 while its name is not valid, so the rules can still run)."""
        return vgg.NETWORKS.get(self.network, vgg.VGG19) if isinstance(self.network, str) else vgg.VGG19

    def problems(self) -> Iterator[Problem]:
        """Every rule the fields break, as (field, value, message)."""
        yield from check("network", self.network, vgg.network)
        yield from check("mode", self.mode, lambda m: choice(self.MODE_NAME, m, self.MODES))
        yield from check("pooling", self.pooling, lambda p: choice("pooling", p, vgg.POOLINGS))
        yield from check("size", self.size, whole("size (px, the long edge)", 1, MAX_SIZE))
        yield from check("seed", self.seed, whole("seed", 0))
        yield from check("remove_noise", self.remove_noise, number("remove_noise", 0))

    def layers_read(self) -> Tuple[str, ...]:
        """Every layer the task's losses read."""
        raise NotImplementedError

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        """The loss terms for a content image of height x width."""
        raise NotImplementedError

    def targets(self, terms: Tuple[Term, ...], content: Codes, style: Codes) -> List[np.ndarray]:
        """One target per term, from the content's (and style's) codes."""
        raise NotImplementedError

    def metrics(self, terms: Tuple[Term, ...], targets: List[np.ndarray], content: Codes, style: Codes,
                final: Codes) -> Dict[str, object]:
        """The numbers that say how good the result is; ``final`` holds the result's codes."""
        raise NotImplementedError

    def labels(self) -> Dict[str, object]:
        """Where the result goes in a figure and its table."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Inversion(Task):
    """Invert modified codes of ``content`` at ``layers`` (spec "Inversion"): ``original`` (T = F),
    ``feature_map`` (FMI of ``filter``), ``random`` (seeded re-mixing), ``purposeful`` (needs ``style``)."""

    layers: Tuple[str, ...]
    mode: str = "original"
    filter: Optional[int] = None

    MODES: ClassVar[Tuple[str, ...]] = codes.MODES

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        yield from _layer_list("layers", self.layers, self.net)
        if self.mode == "feature_map":
            yield from check("filter", self.filter, given("mode feature_map needs a filter index"))
            if self.filter is not None:
                for name in filter(self.net.is_layer, self.layers):
                    yield from check("filter", self.filter, functools.partial(self.net.check_filter, name))
        if self.mode == "purposeful":
            yield from check("style", self.style, given("mode purposeful needs a style image"))

    def layers_read(self) -> Tuple[str, ...]:
        return tuple(self.layers)

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        return tuple(Term("code", name) for name in self.layers)

    def targets(self, terms, content, style):
        rng = np.random.default_rng([self.seed, 1])
        return [codes.modify(self.mode, content[name], filter_index=self.filter, rng=rng, style_code=style.get(name))
                for name in self.layers]

    def metrics(self, terms, targets, content, style, final):
        metrics = {"final_loss": final_loss(terms, targets, final),
                   "code_error": {t.layer: relative(final[t.layer], target) for t, target in zip(terms, targets)}}
        if self.mode == "feature_map":
            metrics["filter_energy_share"] = {
                name: {"content": energy_share(content[name], self.filter),
                       "result": energy_share(final[name], self.filter)} for name in self.layers}
        return metrics

    def labels(self):
        return {"content": self.content, "mode": self.mode, "layer": "+".join(self.layers), "filter": self.filter,
                "style": self.style, "seed": self.seed}


@dataclass(frozen=True, kw_only=True)
class StyleTransfer(Task):
    """Gatys' Gram loss (``gram``) or the PMCI channel-sum loss (``pmci``), spec "Style transfer"."""

    style: Optional[str] = None
    style_layers: Tuple[str, ...] = DEFAULT_STYLE_LAYERS
    mode: str = "gram"
    content_layer: str = "relu2_2"
    content_weight: float = 10.0
    style_weight: float = 1.0
    optimise: Settings = Settings(weight_decay=STYLE_WEIGHT_DECAY)

    MODES: ClassVar[Tuple[str, ...]] = STYLE_MODES
    MODE_NAME: ClassVar[str] = "style mode"

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        yield from check("style", self.style, given(f"mode {self.mode} needs a style image"))
        yield from _layer_list("style_layers", self.style_layers, self.net)
        yield from check("content_layer", self.content_layer, self.net.layer)
        for name in ("content_weight", "style_weight"):
            yield from check(name, getattr(self, name), number(name, 0))

    def layers_read(self) -> Tuple[str, ...]:
        return (self.content_layer,) + tuple(self.style_layers)

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        """Content term first, then one style term per style layer, weighted as the spec says."""
        _, h, w = vgg.output_shape(self.content_layer, height, width)
        # Gatys: alpha * 1/2 ||F - Fc||^2;  PMCI: alpha * ||F - Fc||^2 / (2M)
        alpha = self.content_weight if self.mode == "gram" else self.content_weight / (h * w)
        kind = "gram" if self.mode == "gram" else "channel_sum"
        return (Term("code", self.content_layer, alpha),) + tuple(
            Term(kind, name, self.style_weight) for name in self.style_layers)

    def targets(self, terms, content, style):
        return [terms[0].target(content[self.content_layer])] + [t.target(style[t.layer]) for t in terms[1:]]

    def metrics(self, terms, targets, content, style, final):
        metrics = {"final_loss": final_loss(terms, targets, final),
                   "code_error": {self.content_layer: relative(final[self.content_layer], targets[0])}}
        for key, kind in (("gram_distance", "gram"), ("channel_sum_distance", "channel_sum")):
            # both distances for both modes, to compare them in figure 5
            metrics[key] = {name: relative(Term(kind, name).target(final[name]), Term(kind, name).target(style[name]))
                            for name in self.style_layers}
        return metrics

    def labels(self):
        return {"content": self.content, "mode": self.mode, "layer": self.content_layer, "filter": None,
                "style": self.style, "seed": self.seed}


KINDS: Tuple[Type[Task], ...] = (Inversion, StyleTransfer)
MODES: Tuple[str, ...] = tuple(mode for kind in KINDS for mode in kind.MODES)


def kind_of(mode: str) -> Type[Task]:
    """The task kind that has ``mode``."""
    for kind in KINDS:
        if mode in kind.MODES:
            return kind
    raise unknown("mode", mode, MODES)


def default(kind: type, name: str):
    """The default of a field of a task kind (or of ``Settings``): the one place defaults are written."""
    spec = kind.__dataclass_fields__[name]
    return spec.default_factory() if spec.default is dataclasses.MISSING else spec.default


def final_loss(terms, targets, final: Codes) -> float:
    """The terms' total at the result, in float64 numpy."""
    return sum(value(t, final[t.layer], target) for t, target in zip(terms, targets))


def relative(ours: np.ndarray, target: np.ndarray) -> float:
    """||ours - target|| / ||target||."""
    ours, target = ours.astype(np.float64), target.astype(np.float64)
    return float(np.linalg.norm(ours - target) / max(np.linalg.norm(target), 1e-30))


def energy_share(code: np.ndarray, index: int) -> float:
    """Fraction of a code's energy (sum of squares) held by one channel."""
    energy = np.square(code.astype(np.float64)).sum(axis=(1, 2))
    return float(energy[index] / max(energy.sum(), 1e-30))
