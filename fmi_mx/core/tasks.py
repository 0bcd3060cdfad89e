"""The task kinds. Each answers for itself: the layers it reads, its loss terms for an image size, its
targets from codes, its metrics and its figure labels, and the rules its fields must keep.

``engine.Runner`` runs any kind without asking which one it holds; a new kind (activation
maximisation, say) is a new subclass of ``Task`` here and touches nothing else in ``core``.
"""
import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, Iterator, List, Optional, Tuple, Type

import numpy as np

from .objectives import codes, compose
from .network import vgg
from ..errors import FmiError, unknown
from .run.graphkey import GraphKey
from .objectives.losses import (ChannelObjective, ChannelSumTerm, CodeTerm, DiversityTerm, GramTerm, NeuronObjective,
                                Term)
from .options import KEY, check_all, option
from .optimisation.settings import THROUGHPUT, Settings
from .rules import Problem, check, given, number, raise_problems, whole

Codes = Dict[str, np.ndarray]  # one image's codes (C, H, W) by layer name
MAX_SIZE = 4096  # px, the long edge; a 4096 px relu1_1 executor alone needs about 16 GB

STYLE_TERMS = {"gram": GramTerm, "pmci": ChannelSumTerm}  # a style mode's term on each style layer
STYLE_MODES = tuple(STYLE_TERMS)
STYLE_WEIGHT_DECAY = 5e-3  # vis_style.py's; the inversion script's 5e-4 is Settings' default


def _layer_list(field: str, names, net: vgg.Network) -> Iterator[Problem]:
    if not isinstance(names, (tuple, list)):
        yield field, names, f"{field} must be a list of layer names, not {names!r} (type {type(names).__name__})"
        return
    if not names:
        yield field, names, "needs at least one layer"
    for name in names:
        yield from check(field, name, net.layer)


@dataclass(frozen=True, kw_only=True)
class Common:
    """What tasks and experiments share: the network and how pictures are sized, pooled and saved."""

    network: str = option(vgg.DEFAULT, "the VGG: vgg19 (the paper's) or vgg16", choices=tuple(vgg.NETWORKS))
    size: int = option(512, "long edge of the content image in px", rule=whole(1, MAX_SIZE, note="px, the long edge"),
                       first_ids=True)
    pooling: str = option("avg", "pooling between blocks (avg: Gatys', the paper's)", choices=vgg.POOLINGS,
                          first_ids=True)
    remove_noise: float = option(0.2, "TV denoising weight of the saved picture, 0 = off",
                                 rule=number(0), first_ids=True)
    denoise_size: int = option(0, "scale remove_noise with the picture: weight x size / denoise_size, so that a "
                               "small picture is denoised as the original denoised one of denoise_size px (512); "
                               "0 = the weight as it is, the original's", rule=whole(0, note="px, 0: off"))

    @property
    def denoise_weight(self) -> float:
        """The TV weight the saved picture is denoised with."""
        return self.remove_noise * self.size / self.denoise_size if self.denoise_size else self.remove_noise

    @property
    def net(self) -> vgg.Network:
        """The network (VGG-19 while its name is not valid, so the other rules can still run)."""
        return vgg.NETWORKS.get(self.network, vgg.VGG19) if isinstance(self.network, str) else vgg.VGG19


@dataclass(frozen=True, kw_only=True)
class Task(Common):
    """What every kind has besides ``Common``: a content image (path or ``sample:NAME``), an optional
    style image, the seed of the initial image and the optimiser settings. Fields are checked when the
    task is made (``Invalid`` lists them all)."""

    content: str = option(dataclasses.MISSING, "content image: a path, or sample:NAME", flag=None, first_ids=True,
                          picture=True)
    style: Optional[str] = option(None, "style image", first_ids=True, picture=True)
    seed: int = option(0, "seeds the initial image and random codes", rule=whole(0), first_ids=True)
    optimise: Settings = Settings()

    KIND: ClassVar[str] = ""  # the name job ids know the kind by
    PICTURE_TARGETS: ClassVar[bool] = True  # its targets are made from pictures, at their size
    THROUGHPUT: ClassVar[Dict[str, object]] = {}  # what a config's ``throughput: true`` changes in its settings

    def __post_init__(self):
        raise_problems(self.problems())

    def problems(self) -> Iterator[Problem]:
        """Every rule the fields break, as (field, value, message); the settings checked themselves."""
        yield from check_all(self, groups=False)
        if self.optimise.transform.pad and self.PICTURE_TARGETS:
            yield "pad", self.optimise.transform.pad, "pad changes the size the network sees, which targets made " \
                "from a picture cannot follow: pad is for visualisations"

    def identity(self, picture: Callable[[str], str] = str) -> Dict[str, Any]:
        """The fields that decide the result, as a job's id sees them: those in the first ids always
        (one that does not change results at its default), later ones only while they differ from their
        default; ``picture`` names an image (by its content, say) and the settings give their own."""
        out: Dict[str, Any] = {"optimise": self.optimise.identity()}
        for f in dataclasses.fields(self):
            spec = f.metadata.get(KEY)
            if spec is None:
                continue
            value = getattr(self, f.name)
            if spec.picture and value is not None:
                value = picture(value)
            if spec.first_ids:
                out[f.name] = value if spec.result else f.default
            elif spec.result and value != f.default:
                out[f.name] = value
        return out

    def graph_key(self, shape: Tuple[int, int, int], batch: int = 0) -> GraphKey:
        """The graph this task runs in for an image of ``shape`` (C, H, W), in a batch of ``batch`` (0: any)."""
        return GraphKey.of(self.terms(shape[1], shape[2]), shape, self.pooling, self.optimise, batch)

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

    def never_fired(self, metrics: Dict[str, object]) -> bool:
        """Did the optimisation have nothing to climb (its objective zero from start to end)? Then a fresh
        start may find a slope; only objectives that drive a filter up can be dead."""
        return False


@dataclass(frozen=True, kw_only=True)
class Inversion(Task):
    """Invert modified codes of ``content`` at ``layers``: ``original`` (T = F), ``feature_map`` (FMI of
    ``filter``), ``random`` (seeded re-mixing), ``purposeful`` (needs ``style``)."""

    layers: Tuple[str, ...] = option(dataclasses.MISSING, "the layers whose codes are inverted (command line: "
                                     "comma-separated, e.g. relu1_1,relu2_1)", first_ids=True)
    mode: str = option("original", "how the code is modified", choices=codes.MODES, first_ids=True)
    filter: Optional[int] = option(None, "filter index for feature_map (0-based)", first_ids=True)

    KIND: ClassVar[str] = "Inversion"
    THROUGHPUT: ClassVar[Dict[str, object]] = THROUGHPUT

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        yield from _layer_list("layers", self.layers, self.net)
        if self.mode in codes.MODIFICATIONS:
            yield from codes.MODIFICATIONS[self.mode].problems(self)

    def layers_read(self) -> Tuple[str, ...]:
        return tuple(self.layers)

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        return tuple(CodeTerm(name) for name in self.layers)

    def targets(self, terms, content, style):
        rng = np.random.default_rng([self.seed, 1])
        return [codes.modify(self.mode, content[name], filter_index=self.filter, rng=rng, style_code=style.get(name))
                for name in self.layers]

    def metrics(self, terms, targets, content, style, final):
        return {"final_loss": final_loss(terms, targets, final),
                "code_error": {t.layer: relative(final[t.layer], target) for t, target in zip(terms, targets)},
                **codes.modification(self.mode).metrics(self, content, final)}

    def labels(self):
        return {"content": self.content, "mode": self.mode, "layer": "+".join(self.layers), "filter": self.filter,
                "style": self.style, "seed": self.seed}


@dataclass(frozen=True, kw_only=True)
class StyleTransfer(Task):
    """Gatys' Gram loss (``gram``) or the PMCI channel-sum loss (``pmci``): a content term at
    ``content_layer`` and a style term at each of ``style_layers``."""

    style_layers: Tuple[str, ...] = option(("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
                                           "the style layers (command line: comma-separated)", first_ids=True)
    mode: str = option("gram", "gram: Gatys' Gram matrices (the original's default); pmci: channel sums (figure 5)",
                       choices=STYLE_MODES, first_ids=True, what="style mode")
    content_layer: str = option("relu2_2", "the content layer", first_ids=True)
    content_weight: float = option(10.0, "alpha, the content term's weight", rule=number(0),
                                   first_ids=True)
    style_weight: float = option(1.0, "beta, each style term's weight", rule=number(0), first_ids=True)
    optimise: Settings = Settings(weight_decay=STYLE_WEIGHT_DECAY)

    KIND: ClassVar[str] = "StyleTransfer"

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        yield from check("style", self.style, given(f"mode {self.mode} needs a style image"))
        yield from _layer_list("style_layers", self.style_layers, self.net)
        yield from check("content_layer", self.content_layer, self.net.layer)

    def layers_read(self) -> Tuple[str, ...]:
        return (self.content_layer,) + tuple(self.style_layers)

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        """Content term first, then one style term per style layer: Gatys' weights, or PMCI's (alpha / M)."""
        _, h, w = vgg.output_shape(self.content_layer, height, width)
        # Gatys: alpha * 1/2 ||F - Fc||^2;  PMCI: alpha * ||F - Fc||^2 / (2M)
        style = STYLE_TERMS[self.mode]
        alpha = self.content_weight / (h * w) if style.CONTENT_PER_POSITION else self.content_weight
        return (CodeTerm(self.content_layer, alpha),) + tuple(style(name, self.style_weight) for name in self.style_layers)

    def targets(self, terms, content, style):
        return [terms[0].target(content[self.content_layer])] + [t.target(style[t.layer]) for t in terms[1:]]

    def metrics(self, terms, targets, content, style, final):
        metrics = {"final_loss": final_loss(terms, targets, final),
                   "code_error": {self.content_layer: relative(final[self.content_layer], targets[0])}}
        for term in STYLE_TERMS.values():  # both distances for both modes, to compare them in figure 5
            statistic = {name: term(name).target for name in self.style_layers}
            metrics[f"{term.NAME}_distance"] = {name: relative(f(final[name]), f(style[name]))
                                                for name, f in statistic.items()}
            # the same relative to the content picture's own distance: 1, no style taken; 0, the style exactly
            metrics[f"{term.NAME}_style_score"] = {
                name: metrics[f"{term.NAME}_distance"][name] / max(relative(f(content[name]), f(style[name])), 1e-30)
                for name, f in statistic.items()}
        return metrics

    def labels(self):
        return {"content": self.content, "mode": self.mode, "layer": self.content_layer, "filter": None,
                "style": self.style, "seed": self.seed}


#: the objectives of one filter, by name: (kind of atom, weight) for ``layers[0]`` and ``filter``
OBJECTIVES = {"channel": ("channel", 1.0), "neuron": ("neuron", 1.0), "-channel": ("channel", -1.0),
              "-neuron": ("neuron", -1.0)}
OBJECTIVE_TERMS = {"channel": ChannelObjective, "neuron": NeuronObjective,
                   "diversity": DiversityTerm}  # the loss term of each kind of atom


def _objective(text) -> None:
    if text not in OBJECTIVES:
        compose.parse(text)
#: Lucid's standard settings for feature visualisation: Adam at its rate on a Fourier spectrum, 512 updates, and
#: its transforms (pad 12, jitter 8, scale 0.9..1.1, rotate -10..10 degrees, jitter 4)
LUCID = Settings().replace(method="adam", adam_learning_rate=0.05, weight_decay=0.0, stop_eps=0.0,
                           max_iterations=512, param="fourier", pad=12, jitter=8, scale=0.1, rotate=10.0, shift=4)


@dataclass(frozen=True, kw_only=True)
class Visualisation(Task):
    """Feature visualisation (activation maximisation; Erhan et al. 2009, Olah et al. 2017): the image that
    drives ``filter`` of ``layers[0]`` up (``channel``: its mean over positions; ``neuron``: the centre
    position) or down (``-channel``, ``-neuron``), or maximises an objective expression that names its own
    layers and filters (``compose.parse``). No content image: the picture is ``size`` px square."""

    content: Optional[str] = option(None, "none: a visualisation starts from noise, not from a picture", flag=None,
                                    first_ids=True, picture=True, api=False)
    style: Optional[str] = option(None, "none", flag=None, first_ids=True, picture=True, api=False)
    layers: Tuple[str, ...] = option((), "the layer whose filter is visualised (one; none with an objective "
                                     "expression)", first_ids=True, flag="--layer")
    filter: Optional[int] = option(None, "the filter index (0-based; none with an objective expression)",
                                   first_ids=True)
    mode: str = option("activation", "activation: what image makes the filter fire most", choices=("activation",),
                       first_ids=True)
    objective: str = option("channel", "channel, neuron (the centre position) or either negated (-channel, -neuron) "
                            "of filter at layer; or an expression such as 'channel(relu4_2, 5) - 0.5 * "
                            "channel(relu4_2, 9)'", rule=_objective, first_ids=True)
    optimise: Settings = LUCID

    KIND: ClassVar[str] = "Visualisation"
    PICTURE_TARGETS: ClassVar[bool] = False

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        if self.objective not in OBJECTIVES:
            if self.layers or self.filter is not None:
                yield "objective", self.objective, "an objective expression names its own layers and filters: leave " \
                                                   "layer and filter out"
            try:
                for a in compose.parse(self.objective).atoms:
                    if a.filter is not None:
                        yield from check("objective", a.filter, functools.partial(self.net.check_filter, a.layer))
            except FmiError:
                pass  # the option's own rule reports it
            return
        yield from _layer_list("layers", self.layers, self.net)
        if isinstance(self.layers, (tuple, list)) and len(self.layers) > 1:
            yield "layers", self.layers, "a visualisation is of one filter of one layer"
        yield from self.net.filter_problems("filter", self.filter,
                                            self.layers if isinstance(self.layers, (tuple, list)) else (),
                                            f"objective {self.objective} needs a filter index")

    def expression(self) -> compose.Objective:
        """What is maximised: the named objective of ``filter`` at ``layers[0]``, or the expression."""
        if self.objective in OBJECTIVES:
            kind, weight = OBJECTIVES[self.objective]
            return compose.atom(kind, self.layers[0], self.filter, weight)
        return compose.parse(self.objective)

    def layers_read(self) -> Tuple[str, ...]:
        return self.expression().layers

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        """One term per kind and layer: a filter's selector comes with the targets, a filterless term (the
        batch's diversity) carries its weight itself."""
        return tuple(OBJECTIVE_TERMS[kind](layer, weights[None]) if None in weights else OBJECTIVE_TERMS[kind](layer)
                     for kind, layer, weights in self.expression().groups())

    def targets(self, terms, content, style):
        selectors = []
        for term, (_, _, weights) in zip(terms, self.expression().groups()):
            selector = np.zeros(term.target_shape(1, 1), np.float32)
            for k, weight in weights.items():
                if k is not None:
                    selector[k] = weight
            selectors.append(selector)
        return selectors

    def metrics(self, terms, targets, content, style, final):
        if self.objective in OBJECTIVES:
            layer = self.layers[0]
            activation = {layer: float(terms[0].statistic(final[layer])[self.filter])}
            share = {layer: {"content": None, "result": codes.energy_share(final[layer], self.filter)}}
        else:
            activation = {str(a): float(OBJECTIVE_TERMS[a.kind](a.layer).statistic(final[a.layer])[a.filter])
                          for a in self.expression().atoms if a.filter is not None}
            share = {}
        return {"final_loss": final_loss(terms, targets, final), "code_error": {}, "activation": activation,
                "activation_of": "the optimised image, before denoising and rounding to 8 bits",
                "filter_energy_share": share}

    def labels(self):
        layer = "+".join(self.layers) if self.objective in OBJECTIVES else self.objective
        return {"content": None, "mode": self.mode, "layer": layer, "filter": self.filter,
                "style": None, "seed": self.seed}

    def never_fired(self, metrics):
        if self.objective not in OBJECTIVES:
            return False
        _, weight = OBJECTIVES[self.objective]
        return weight > 0 and metrics["activation"][self.layers[0]] == 0.0


TASK_KINDS: Tuple[Type[Task], ...] = (Inversion, StyleTransfer, Visualisation)


def modes(kind: Type[Task]) -> Tuple[str, ...]:
    """The modes a task kind declares."""
    return kind.__dataclass_fields__["mode"].metadata[KEY].choices


MODES: Tuple[str, ...] = tuple(mode for kind in TASK_KINDS for mode in modes(kind))


def kind_of(mode: str) -> Type[Task]:
    """The task kind that has ``mode``."""
    for kind in TASK_KINDS:
        if mode in modes(kind):
            return kind
    raise unknown("mode", mode, MODES)


def default(kind: type, name: str):
    """The default of a field of a task kind (or of ``Settings``): the one place defaults are written."""
    spec = kind.__dataclass_fields__[name]
    return spec.default_factory() if spec.default is dataclasses.MISSING else spec.default


def final_loss(terms, targets, final: Codes) -> float:
    """The terms' total at the result, in float64 numpy; a term of the whole batch (diversity) is not the
    sample's alone and is left out."""
    return sum(t.value(final[t.layer], target) for t, target in zip(terms, targets) if not t.COUPLED)


def relative(ours: np.ndarray, target: np.ndarray) -> float:
    """||ours - target|| / ||target||."""
    ours, target = ours.astype(np.float64), target.astype(np.float64)
    return float(np.linalg.norm(ours - target) / max(np.linalg.norm(target), 1e-30))
