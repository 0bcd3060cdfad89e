"""One inversion or one style transfer, end to end: images in, picture and numbers out.

A ``Runner`` holds the weights on one device and caches bound graphs, so jobs that share a
network, layers and image size bind their executor once.
"""
import dataclasses
import platform
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import __version__, codes, images, vgg
from ._mx import context, mx
from .errors import FmiError, unknown
from .graph import LossGraph
from .losses import Term, value
from .optimise import Outcome, Settings, initial_image, optimise
from .weights import Weights

STYLE_MODES = ("gram", "pmci")
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass(frozen=True)
class Inversion:
    """Invert modified codes of ``content`` at ``layers`` (spec "Inversion")."""

    content: str
    layers: Tuple[str, ...]
    mode: str = "original"
    filter: Optional[int] = None
    style: Optional[str] = None
    seed: int = 0
    size: int = 512
    pooling: str = "avg"
    remove_noise: float = 0.2
    optimise: Settings = Settings()

    def __post_init__(self):
        for name in self.layers:
            vgg.layer(name)
        if self.mode not in codes.MODES:
            raise unknown("mode", self.mode, codes.MODES)
        if self.mode == "feature_map":
            if self.filter is None:
                raise FmiError("mode feature_map needs a filter index (--filter)")
            for name in self.layers:
                vgg.check_filter(name, self.filter)
        if self.mode == "purposeful" and not self.style:
            raise FmiError("mode purposeful needs a style image (--style)")
        _check_common(self)


@dataclass(frozen=True)
class StyleTransfer:
    """Gatys' Gram loss or the PMCI channel-sum loss (spec "Style transfer")."""

    content: str
    style: str
    style_layers: Tuple[str, ...] = DEFAULT_STYLE_LAYERS
    mode: str = "gram"
    content_layer: str = "relu2_2"
    content_weight: float = 10.0
    style_weight: float = 1.0
    seed: int = 0
    size: int = 512
    pooling: str = "avg"
    remove_noise: float = 0.2
    optimise: Settings = Settings(weight_decay=5e-3)

    def __post_init__(self):
        for name in (self.content_layer,) + tuple(self.style_layers):
            vgg.layer(name)
        if self.mode not in STYLE_MODES:
            raise unknown("style mode", self.mode, STYLE_MODES)
        _check_common(self)

    def terms(self, height: int, width: int) -> Tuple[Term, ...]:
        """Content term first, then one style term per style layer, weighted as the spec says."""
        _, h, w = vgg.output_shape(self.content_layer, height, width)
        # Gatys: alpha * 1/2 ||F - Fc||^2;  PMCI: alpha * ||F - Fc||^2 / (2M)
        alpha = self.content_weight if self.mode == "gram" else self.content_weight / (h * w)
        kind = "gram" if self.mode == "gram" else "channel_sum"
        return (Term("code", self.content_layer, alpha),) + tuple(
            Term(kind, name, self.style_weight) for name in self.style_layers)


def _check_common(task) -> None:
    if task.pooling not in vgg.POOLINGS:
        raise unknown("pooling", task.pooling, vgg.POOLINGS)
    if not isinstance(task.size, int) or task.size < 1:
        raise FmiError(f"size must be a positive number of pixels, not {task.size!r}")
    if task.remove_noise < 0:
        raise FmiError(f"remove_noise must be >= 0, not {task.remove_noise}")


Task = Union[Inversion, StyleTransfer]


@dataclass
class Result:
    """The picture, how the optimisation went, and the numbers that say how good it is."""

    image: np.ndarray
    outcome: Outcome
    metrics: Dict[str, object] = field(default_factory=dict)


class Runner:
    """Runs tasks on one device with one set of weights, binding each distinct graph once."""

    def __init__(self, weights: Weights, device: str = "cpu", log: Optional[Callable[[str], None]] = None):
        self.weights, self.device, self.log = weights, device, log
        self.ctx = context(device)
        self._graphs: Dict[tuple, LossGraph] = {}

    def graph(self, terms: Tuple[Term, ...], shape, pooling: str) -> LossGraph:
        key = (terms, tuple(shape), pooling)
        if key not in self._graphs:
            self._graphs[key] = LossGraph(self.weights, terms, shape, self.ctx, pooling)
        return self._graphs[key]

    def _content(self, task: Task) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Network inputs for the content and (if any) the style image at the content's exact size."""
        content = images.resize_long_edge(images.read(task.content), task.size)
        style = images.resize(images.read(task.style), content.shape[:2]) if task.style else None
        mean = self.weights.mean_rgb
        return images.preprocess(content, mean), None if style is None else images.preprocess(style, mean)

    def run(self, task: Task) -> Result:
        return self.invert(task) if isinstance(task, Inversion) else self.style(task)

    def invert(self, task: Inversion) -> Result:
        x_content, x_style = self._content(task)
        terms = tuple(Term("code", name) for name in task.layers)
        graph = self.graph(terms, x_content.shape, task.pooling)
        content_codes = graph.codes(x_content)
        style_codes = graph.codes(x_style) if x_style is not None else {}
        rng = np.random.default_rng([task.seed, 1])
        targets = [codes.modify(task.mode, content_codes[name][0], filter_index=task.filter, rng=rng,
                                style_code=style_codes[name][0] if style_codes else None)
                   for name in task.layers]
        graph.set_targets([t[None] for t in targets])
        outcome = self._optimise(graph, x_content.shape, task)
        final = graph.codes(outcome.x)
        metrics: Dict[str, object] = {
            "final_loss": sum(value(t, final[t.layer][0], target) for t, target in zip(terms, targets)),
            "code_error": {name: _relative(final[name][0], target) for name, target in zip(task.layers, targets)},
        }
        if task.mode == "feature_map":
            metrics["filter_energy_share"] = {
                name: {"content": _share(content_codes[name][0], task.filter),
                       "result": _share(final[name][0], task.filter)} for name in task.layers}
        return Result(self._picture(outcome, task), outcome, metrics)

    def style(self, task: StyleTransfer) -> Result:
        x_content, x_style = self._content(task)
        terms = task.terms(x_content.shape[2], x_content.shape[3])
        graph = self.graph(terms, x_content.shape, task.pooling)
        content_codes = graph.codes(x_content)
        style_codes = graph.codes(x_style)
        targets = [terms[0].target(content_codes[task.content_layer][0])]
        targets += [t.target(style_codes[t.layer][0]) for t in terms[1:]]
        graph.set_targets([t[None] for t in targets])
        outcome = self._optimise(graph, x_content.shape, task)
        final = graph.codes(outcome.x)
        metrics: Dict[str, object] = {
            "final_loss": sum(value(t, final[t.layer][0], target) for t, target in zip(terms, targets)),
            "code_error": {task.content_layer: _relative(final[task.content_layer][0], targets[0])},
            "gram_distance": {}, "channel_sum_distance": {},
        }
        for name in task.style_layers:  # both distances for both modes, to compare them in figure 5
            ours, theirs = final[name][0], style_codes[name][0]
            for key, kind in (("gram_distance", "gram"), ("channel_sum_distance", "channel_sum")):
                probe = Term(kind, name)
                metrics[key][name] = _relative(probe.target(ours), probe.target(theirs))
        return Result(self._picture(outcome, task), outcome, metrics)

    def _optimise(self, graph: LossGraph, shape, task: Task) -> Outcome:
        return optimise(graph, initial_image(shape, task.seed, task.optimise), task.optimise, self.log)

    def _picture(self, outcome: Outcome, task: Task) -> np.ndarray:
        return images.postprocess(outcome.x, self.weights.mean_rgb, task.remove_noise)


def _relative(ours: np.ndarray, target: np.ndarray) -> float:
    """||ours - target|| / ||target||."""
    ours, target = ours.astype(np.float64), target.astype(np.float64)
    return float(np.linalg.norm(ours - target) / max(np.linalg.norm(target), 1e-30))


def _share(code: np.ndarray, index: int) -> float:
    """Fraction of a code's energy (sum of squares) held by one channel."""
    energy = np.square(code.astype(np.float64)).sum(axis=(1, 2))
    return float(energy[index] / max(energy.sum(), 1e-30))


def record(task: Task, result: Result, weights: Weights, device: str) -> Dict[str, object]:
    """The JSON sidecar: what was asked, with which weights, how it went, and on what software."""
    outcome = result.outcome
    return {
        "task": {"kind": type(task).__name__, **dataclasses.asdict(task)},
        "weights": weights.describe(),
        "device": device,
        "image_size": list(result.image.shape[:2]),
        "iterations": outcome.iterations,
        "stop_reason": outcome.stop_reason,
        "seconds_per_iteration": outcome.seconds_per_iteration,
        **result.metrics,
        "history": outcome.history,
        "versions": versions(),
    }


def versions() -> Dict[str, str]:
    import cv2
    import skimage

    return {"fmi_mx": __version__, "mxnet": mx.__version__, "numpy": np.__version__, "opencv": cv2.__version__,
            "scikit-image": skimage.__version__, "python": platform.python_version()}
