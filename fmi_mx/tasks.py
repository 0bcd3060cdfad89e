"""One inversion or one style transfer, end to end: images in, picture and numbers out.

A ``Runner`` holds the weights on one device and caches bound graphs, so jobs that share a
network, layers and image size bind their executor once.
"""
import dataclasses
import platform
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__, codes, files, images, memory, vgg
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


def layers_of(task: Task) -> Tuple[str, ...]:
    """Every layer a task's losses read."""
    if isinstance(task, Inversion):
        return tuple(task.layers)
    return (task.content_layer,) + tuple(task.style_layers)


@dataclass
class Result:
    """The picture, how the optimisation went, and the numbers that say how good it is."""

    image: np.ndarray
    outcome: Outcome
    metrics: Dict[str, object] = field(default_factory=dict)


class Runner:
    """Runs tasks on one device with one set of weights, binding each distinct graph once.

    Tasks that share a graph (layers and loss terms, image size, pooling, optimiser settings) can run
    as one batch: one forward/backward for all, each sample with its own target and stopping test.
    """

    def __init__(self, weights: Weights, device: str = "cpu", log: Optional[Callable[[str], None]] = None,
                 max_memory: Optional[float] = None):
        self.weights, self.device, self.log, self.max_memory = weights, device, log, max_memory
        self.ctx = context(device)
        self._graphs: Dict[tuple, LossGraph] = {}
        self._params: Dict[str, object] = {}  # weights on this device, shared by all graphs

    def graph(self, terms: Tuple[Term, ...], shape, pooling: str) -> LossGraph:
        key = (terms, tuple(shape), pooling)
        if key not in self._graphs:
            self._graphs[key] = LossGraph(self.weights, terms, shape, self.ctx, pooling, params=self._params)
        return self._graphs[key]

    def inputs(self, task: Task) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Network inputs (1, 3, H, W) for the content and (if any) the style image at the content's size."""
        content = images.resize_long_edge(images.read(task.content), task.size)
        style = images.resize(images.read(task.style), content.shape[:2]) if task.style else None
        mean = self.weights.mean_rgb
        return images.preprocess(content, mean), None if style is None else images.preprocess(style, mean)

    @staticmethod
    def terms(task: Task, height: int, width: int) -> Tuple[Term, ...]:
        if isinstance(task, Inversion):
            return tuple(Term("code", name) for name in task.layers)
        return task.terms(height, width)

    @classmethod
    def batch_key(cls, task: Task, shape) -> tuple:
        """Tasks with equal keys can share one executor and run as one batch."""
        return (cls.terms(task, shape[2], shape[3]), tuple(shape[1:]), task.pooling, task.optimise,
                task.style is not None)

    def run(self, task: Task) -> Result:
        return self.run_batch([task])[0]

    def run_batch(self, batch: Sequence[Task], inputs: Optional[Sequence[tuple]] = None) -> List[Result]:
        """Run tasks of one batch key as one executor of batch size len(batch)."""
        inputs = list(inputs) if inputs is not None else [self.inputs(t) for t in batch]
        shape = inputs[0][0].shape
        key = self.batch_key(batch[0], shape)
        if any(self.batch_key(t, x.shape) != key for t, (x, _) in zip(batch, inputs)):
            raise ValueError("tasks of different batch keys cannot share a batch")
        terms = key[0]
        if self.max_memory:
            fits = memory.batch_size(terms, shape, self.max_memory, cap=len(batch))
            if fits < len(batch):
                raise FmiError(f"a batch of {len(batch)} does not fit max_memory {self.max_memory:.0f} MB "
                               f"(at most {fits})")
        graph = self.graph(terms, (len(batch),) + shape[1:], batch[0].pooling)
        content = graph.codes(np.concatenate([x for x, _ in inputs]))
        style = graph.codes(np.concatenate([y for _, y in inputs])) if batch[0].style else {}
        targets = [self._targets(t, terms, _sample(content, i), _sample(style, i)) for i, t in enumerate(batch)]
        graph.set_targets([np.stack(per_term) for per_term in zip(*targets)])
        x0 = np.concatenate([initial_image(shape, t.seed, t.optimise) for t in batch])
        outcomes = optimise(graph, x0, batch[0].optimise, self.log)
        final = graph.codes(np.concatenate([o.x for o in outcomes]))
        return [Result(images.postprocess(o.x, self.weights.mean_rgb, t.remove_noise), o,
                       self._metrics(t, terms, tg, _sample(content, i), _sample(style, i), _sample(final, i)))
                for i, (t, o, tg) in enumerate(zip(batch, outcomes, targets))]

    @staticmethod
    def _targets(task: Task, terms, content: dict, style: dict) -> List[np.ndarray]:
        if isinstance(task, Inversion):
            rng = np.random.default_rng([task.seed, 1])
            return [codes.modify(task.mode, content[name], filter_index=task.filter, rng=rng,
                                 style_code=style.get(name)) for name in task.layers]
        return [terms[0].target(content[task.content_layer])] + [t.target(style[t.layer]) for t in terms[1:]]

    @staticmethod
    def _metrics(task: Task, terms, targets, content: dict, style: dict, final: dict) -> Dict[str, object]:
        metrics: Dict[str, object] = {
            "final_loss": sum(value(t, final[t.layer], target) for t, target in zip(terms, targets))}
        if isinstance(task, Inversion):
            metrics["code_error"] = {t.layer: _relative(final[t.layer], target) for t, target in zip(terms, targets)}
            if task.mode == "feature_map":
                metrics["filter_energy_share"] = {
                    name: {"content": _share(content[name], task.filter), "result": _share(final[name], task.filter)}
                    for name in task.layers}
            return metrics
        metrics["code_error"] = {task.content_layer: _relative(final[task.content_layer], targets[0])}
        for key, kind in (("gram_distance", "gram"), ("channel_sum_distance", "channel_sum")):
            # both distances for both modes, to compare them in figure 5
            metrics[key] = {name: _relative(Term(kind, name).target(final[name]), Term(kind, name).target(style[name]))
                            for name in task.style_layers}
        return metrics


def _sample(codes_by_layer: Dict[str, np.ndarray], i: int) -> Dict[str, np.ndarray]:
    """One sample's codes (C, H, W) out of a batch's."""
    return {name: array[i] for name, array in codes_by_layer.items()}


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
        "batch_size": outcome.batch_size,
        **result.metrics,
        "history": outcome.history,
        "versions": versions(),
    }


def save(path, task: Task, result: Result, weights: Weights, device: str, **extra) -> Path:
    """Write the picture, then its JSON sidecar (``.json`` beside it): the sidecar marks it finished."""
    path = Path(path)
    images.write(path, result.image)
    files.write_json(path.with_suffix(".json"), {**extra, **record(task, result, weights, device)})
    return path


def versions() -> Dict[str, str]:
    import cv2
    import skimage

    return {"fmi_mx": __version__, "mxnet": mx.__version__, "numpy": np.__version__, "opencv": cv2.__version__,
            "scikit-image": skimage.__version__, "python": platform.python_version()}
