"""The Python API: one inversion or one style transfer, from paths or numpy pictures, in a call.

    image, record = fmi_mx.invert("sample:astronaut", layers=["relu1_2"], mode="feature_map", filter=3,
                                  weights="random", size=32, iterations=20)

Both return the picture (uint8, H x W x 3) and the record that the CLI writes as the JSON sidecar.
Their keywords are the CLI's options; their defaults are the task kinds' (``core.tasks``).
"""
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .backend import devices
from .core import images, memory, record
from .core import weights as weights_module
from .core.optimise import Settings
from .core.rules import whole
from .errors import unknown
from .core.tasks import Inversion, StyleTransfer, Task, default

Picture = Union[str, np.ndarray]  # a path, ``sample:NAME``, or an RGB (H, W, 3) / gray (H, W) array in 0..255
# a params file, ``random``, ``random:SEED``, loaded weights, or None: the network's file (models/<network>.params)
WeightsSpec = Union[None, str, "weights_module.Weights"]
Log = Optional[Callable[[str], None]]
Snapshot = Optional[Callable[[int, np.ndarray], None]]  # (update, RGB uint8 image before denoising)


def invert(content: Picture, *, layers: Union[str, Sequence[str]], mode: str = default(Inversion, "mode"),
           filter: Optional[int] = None, style: Optional[Picture] = None, network: str = default(Task, "network"),
           weights: WeightsSpec = None, device: str = devices.DEFAULT, size: int = default(Task, "size"), seed: int = default(Task, "seed"),
           iterations: int = default(Settings, "max_iterations"), stop_eps: float = default(Settings, "stop_eps"),
           weight_decay: float = default(Settings, "weight_decay"), pooling: str = default(Task, "pooling"),
           remove_noise: float = default(Task, "remove_noise"), log_every: int = default(Settings, "log_every"),
           method: str = default(Settings, "method"), tv_weight: float = default(Settings, "tv_weight"),
           tv_beta: float = default(Settings, "tv_beta"), jitter: int = default(Settings, "jitter"),
           options: Optional[Dict[str, object]] = None, max_memory: float = memory.DEFAULT_MAX_MEMORY,
           save_every: int = 0, log: Log = None, on_snapshot: Snapshot = None) -> Tuple[np.ndarray, dict]:
    """Invert a (modified) code of ``content`` at ``layers`` of ``network`` (``vgg19``, ``vgg16``): mode
    ``original``, ``feature_map`` (FMI of ``filter``, 0-based), ``random`` (seeded by ``seed``) or
    ``purposeful`` (needs ``style``). ``weights``: the network's (default ``models/<network>.params``).
    ``method``: ``sgd`` (the original's), ``lbfgs`` or ``adam``; ``tv_weight``/``tv_beta``: a total-variation
    prior; ``jitter``: random shifts (px) between steps; ``options``: any other field of ``Settings`` by name
    (``{"lbfgs_history": 20}``). ``on_snapshot(update, rgb)`` gets the image every ``save_every`` updates."""
    content, style = _source(content), None if style is None else _source(style)
    task = Inversion(content=content.name, layers=layer_list(layers), mode=mode, filter=filter,
                     style=None if style is None else style.name, network=network, seed=seed, size=size,
                     pooling=pooling, remove_noise=remove_noise,
                     optimise=_settings(default(Inversion, "optimise"), options, weight_decay=weight_decay,
                                        stop_eps=stop_eps, max_iterations=iterations, log_every=log_every,
                                        method=method, tv_weight=tv_weight, tv_beta=tv_beta, jitter=jitter))
    return _run(task, content, style, weights=weights, device=device, max_memory=max_memory, log=log,
                save_every=save_every, on_snapshot=on_snapshot)


def style_transfer(content: Picture, style: Picture, *, mode: str = default(StyleTransfer, "mode"),
                   style_layers: Union[str, Sequence[str]] = default(StyleTransfer, "style_layers"),
                   content_layer: str = default(StyleTransfer, "content_layer"),
                   content_weight: float = default(StyleTransfer, "content_weight"),
                   style_weight: float = default(StyleTransfer, "style_weight"),
                   network: str = default(Task, "network"), weights: WeightsSpec = None,
                   device: str = devices.DEFAULT, size: int = default(Task, "size"), seed: int = default(Task, "seed"),
                   iterations: int = default(Settings, "max_iterations"),
                   stop_eps: float = default(Settings, "stop_eps"),
                   weight_decay: float = default(StyleTransfer, "optimise").weight_decay,
                   pooling: str = default(Task, "pooling"), remove_noise: float = default(Task, "remove_noise"),
                   log_every: int = default(Settings, "log_every"), method: str = default(Settings, "method"),
                   tv_weight: float = default(Settings, "tv_weight"), tv_beta: float = default(Settings, "tv_beta"),
                   jitter: int = default(Settings, "jitter"), options: Optional[Dict[str, object]] = None,
                   max_memory: float = memory.DEFAULT_MAX_MEMORY, save_every: int = 0, log: Log = None,
                   on_snapshot: Snapshot = None) -> Tuple[np.ndarray, dict]:
    """Style transfer: ``gram`` (Gatys' Gram matrices) or ``pmci`` (channel sums, the paper's figure 5).
    The optimiser keywords are ``invert``'s."""
    content, style = _source(content), _source(style)
    task = StyleTransfer(content=content.name, style=style.name, style_layers=layer_list(style_layers), mode=mode,
                         content_layer=content_layer, content_weight=content_weight, style_weight=style_weight,
                         network=network, seed=seed, size=size, pooling=pooling, remove_noise=remove_noise,
                         optimise=_settings(default(StyleTransfer, "optimise"), options, weight_decay=weight_decay,
                                            stop_eps=stop_eps, max_iterations=iterations, log_every=log_every,
                                            method=method, tv_weight=tv_weight, tv_beta=tv_beta, jitter=jitter))
    return _run(task, content, style, weights=weights, device=device, max_memory=max_memory, log=log,
                save_every=save_every, on_snapshot=on_snapshot)


def _settings(base: Settings, options: Optional[Dict[str, object]], **values) -> Settings:
    """``base`` with the keywords' values, then ``options`` (other ``Settings`` fields by name)."""
    known = {f.name for f in dataclasses.fields(Settings)}
    for name in options or {}:
        if name not in known:
            raise unknown("optimiser option", name, sorted(known - set(values)))
    return dataclasses.replace(base, **{**values, **(options or {})})


def layer_list(layers: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """``"relu1_1,relu2_1"`` or a sequence of names -> a tuple of names (checked by the task)."""
    if isinstance(layers, str):
        return tuple(name.strip() for name in layers.split(","))
    return tuple(layers)


def _run(task: Task, content: "_Source", style: Optional["_Source"], *, weights: WeightsSpec, device: str,
         max_memory: float, log: Log, save_every: int, on_snapshot: Snapshot) -> Tuple[np.ndarray, dict]:
    from .core.engine import Runner  # MXNet is imported here, not with the package

    memory.check_budget(max_memory)
    whole("save_every", 0)(save_every)
    w = weights_module.resolve(weights, task.network)
    runner = Runner(w, device, log=log, max_memory=max_memory)
    inputs = runner.prepare(content.pixels(), None if style is None else style.pixels(), task.size)
    result = runner.run_batch([task], [inputs], save_every=save_every,
                              on_snapshot=(lambda _, update, rgb: on_snapshot(update, rgb)) if on_snapshot else None)[0]
    return result.image, json.loads(json.dumps(record.record(task, result, w, device)))  # as the sidecar reads


@dataclass(frozen=True)
class _Source:
    """A picture given to the API: the name the record keeps, and the RGB array if one was given."""

    name: str
    rgb: Optional[np.ndarray] = None

    def pixels(self) -> np.ndarray:
        return self.rgb if self.rgb is not None else images.read(self.name)


def _source(picture: Picture) -> _Source:
    """A path or ``sample:NAME`` as it is; an array converted once and named ``array:HxW:<sha256 prefix>``."""
    if not isinstance(picture, np.ndarray):
        return _Source(str(picture))
    rgb = images.as_rgb(picture)
    return _Source(f"array:{rgb.shape[0]}x{rgb.shape[1]}:{hashlib.sha256(rgb.tobytes()).hexdigest()[:12]}", rgb)
