"""The Python API: one inversion or one style transfer, from paths or numpy pictures, in a call.

    image, record = fmi_mx.invert("sample:astronaut", layers=["relu1_2"], mode="feature_map", filter=3,
                                  weights="random", size=32, max_iterations=20)

Both return the picture (uint8, H x W x 3) and the record that the CLI writes as the JSON sidecar.
Their keywords are the options declared by the task kinds, the optimiser settings and the run options,
with the command line's names and defaults (``help(fmi_mx.invert)`` lists them); nothing here spells
an option.
"""
import dataclasses
import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, Union

import numpy as np

from .core.image import images
from .core.objectives import compose
from .core.run import record
from .core.network import weights as weights_module
from .core.options import Declared, declared
from .core.run.running import RunOptions
from .core.optimisation.settings import Settings
from .core.tasks import Inversion, StyleTransfer, Task, Visualisation, default
from .errors import FmiError, unknown

Picture = Union[str, np.ndarray]  # a path, ``sample:NAME``, or an RGB (H, W, 3) / gray (H, W) array in 0..255
Log = Optional[Callable[[str], None]]
Snapshot = Optional[Callable[[int, np.ndarray], None]]  # (update, RGB uint8 image before denoising)
#: keywords every call takes besides the declared options, as (type, help)
CALLBACKS = {"log": (Log, "callable(line): the progress lines"),
             "on_snapshot": (Snapshot, "callable(update, rgb): the image every save_every updates"),
             "options": (Optional[Dict[str, Any]], "dict: any optimiser settings by their config names "
                                                   "(docs/reference/config.md)")}


def keywords(kind: Type[Task], positional: Tuple[str, ...]) -> Dict[str, Tuple[str, Declared]]:
    """The options a call for ``kind`` takes by keyword, as (group, declaration): the kind's fields but
    ``positional`` ("task"), the optimiser settings ("settings") and the run options one call honours
    ("run"); keyed by the command line's name."""
    groups = (("task", declared(kind, groups=False)), ("settings", declared(Settings)), ("run", declared(RunOptions)))
    return {keyword(d): (group, d) for group, options in groups for d in options
            if d.name not in positional and d.spec.api}


def keyword(d: Declared) -> str:
    """An option's name on the command line and in the API: its flag's, else its public name."""
    return d.flag[2:].replace("-", "_") if d.flag else d.name


def invert(content: Picture, **given) -> Tuple[np.ndarray, dict]:
    """Invert a (modified) code of ``content`` at ``layers`` of ``network``: mode ``original``, ``feature_map``
    (FMI of ``filter``, 0-based), ``random`` (seeded by ``seed``) or ``purposeful`` (needs ``style``)."""
    return _call(Inversion, {"content": content}, given, "invert")


def style_transfer(content: Picture, style: Picture, **given) -> Tuple[np.ndarray, dict]:
    """Style transfer: ``gram`` (Gatys' Gram matrices) or ``pmci`` (channel sums, the paper's figure 5)."""
    return _call(StyleTransfer, {"content": content, "style": style}, given, "style_transfer")


def visualise(samples: int = 1, **given) -> Tuple[np.ndarray, Union[dict, List[dict]]]:
    """Feature visualisation: the image that makes ``filter`` of ``layer`` fire most (``objective``: ``channel``,
    ``neuron``, either negated, or a composed objective), with Lucid's settings: a Fourier parameterisation,
    its random transforms and Adam for 512 updates. ``size``: the picture's side in px. ``samples`` N > 1
    optimises N images of seeds seed..seed+N-1 as one batch, which an objective with ``diversity`` pushes
    apart, and returns them stacked (N x H x W x 3) with their N records."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise FmiError(f"samples must be a whole number >= 1, not {samples!r}")
    return _call(Visualisation, {}, given, "visualise", samples=int(samples))


def _call(kind: Type[Task], pictures: Dict[str, Picture], given: Dict[str, Any], name: str,
          samples: int = 1) -> Tuple[np.ndarray, Union[dict, List[dict]]]:
    allowed = keywords(kind, tuple(pictures))
    for key in given:
        if key not in allowed and key not in CALLBACKS:
            raise unknown(f"keyword of fmi_mx.{name}", key, list(allowed) + list(CALLBACKS))
    missing = [key for key, (_, d) in allowed.items() if d.default is dataclasses.MISSING and key not in given]
    if missing:
        raise FmiError(f"fmi_mx.{name} needs {missing[0]}=...")
    values: Dict[str, Dict[str, Any]] = {"task": {}, "settings": {}, "run": {}}
    for key, value in given.items():
        if key in allowed:
            group, d = allowed[key]
            values[group][d.name] = _plain(value)
    task_values = values["task"]
    for field, picture in pictures.items():
        task_values[field] = picture
    sources = {field: _source(task_values[field]) for field in ("content", "style") if task_values.get(field) is not None}
    task_values.update({field: source.name for field, source in sources.items()})
    sources.setdefault("content", None)
    for key, (group, d) in allowed.items():  # "relu1_1,relu2_1" for a list of layer names
        if group == "task" and getattr(d.type, "__origin__", None) is tuple and isinstance(task_values.get(d.name), str):
            task_values[d.name] = layer_list(task_values[d.name])
    try:
        settings = default(kind, "optimise").replace(**{**values["settings"], **(given.get("options") or {})})
    except KeyError as e:
        raise unknown("optimiser option", e.args[0], sorted(d.name for d in declared(Settings))) from None
    task = kind(**task_values, optimise=settings)
    tasks = [dataclasses.replace(task, seed=task.seed + k) for k in range(samples)]
    made = _run(tasks, sources, values["run"], log=given.get("log"), on_snapshot=given.get("on_snapshot"))
    if samples == 1:
        return made[0]
    return np.stack([image for image, _ in made]), [record_ for _, record_ in made]


def _plain(value):
    """numpy scalars as the Python numbers the rules expect; lists of layer names as tuples; a composed
    objective as its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, compose.Objective):
        return str(value)
    return tuple(value) if isinstance(value, list) else value


def layer_list(layers: Union[str, Any]) -> Tuple[str, ...]:
    """``"relu1_1,relu2_1"`` or a sequence of names -> a tuple of names (checked by the task)."""
    if isinstance(layers, str):
        return tuple(name.strip() for name in layers.split(","))
    return tuple(layers)


def _run(tasks: List[Task], sources: Dict[str, "_Source"], run: Dict[str, Any], log: Log,
         on_snapshot: Snapshot) -> List[Tuple[np.ndarray, dict]]:
    """Run the tasks (one, or the samples of one visualisation) as one batch: (picture, record) each."""
    from .core.run.engine import Runner

    for d in declared(RunOptions):
        if d.name in run:
            d.check(run[d.name])
    options = RunOptions(**run)
    first = tasks[0]
    w = weights_module.resolve(options.weights or None, first.network)
    runner = Runner(w, options.device, log=log, max_memory=options.max_memory)
    style = sources.get("style")
    inputs = runner.inputs(first) if sources["content"] is None else \
        runner.prepare(sources["content"].pixels(), None if style is None else style.pixels(), first.size)
    snapshot = (lambda i, update, rgb: on_snapshot(update, rgb) if i == 0 else None) if on_snapshot else None
    results = runner.run_batch(tasks, [inputs] * len(tasks), save_every=options.save_every, on_snapshot=snapshot)
    return [(result.image, json.loads(json.dumps(record.record(task, result, w, options.device))))  # as sidecars read
            for task, result in zip(tasks, results)]


@dataclass(frozen=True)
class _Source:
    """A picture given to the API: the name the record keeps, and the RGB array if one was given."""

    name: str
    rgb: Optional[np.ndarray] = None

    def pixels(self) -> np.ndarray:
        return self.rgb if self.rgb is not None else images.read(self.name)


def _source(picture: Picture) -> _Source:
    """A path or ``sample:NAME`` as it is; an array converted once and named ``array:HxW:<sha256 prefix>``."""
    if isinstance(picture, (str, Path)):
        return _Source(str(picture))
    rgb = images.as_rgb(picture)
    return _Source(f"array:{rgb.shape[0]}x{rgb.shape[1]}:{hashlib.sha256(rgb.tobytes()).hexdigest()[:12]}", rgb)


ONE_PICTURE = ("(picture, record): the saved picture, an H x W x 3 uint8 array (denoised), and the record the "
               "command line writes as the JSON sidecar: the task, the network and weights, iterations, why it "
               "stopped, the loss history and the metrics")
SAMPLES = ("(pictures, records): with samples N > 1, the N pictures stacked (N x H x W x 3 uint8) and their N "
           "records; with one sample, (picture, record) as invert returns them")
RAISES = ("FmiError: a bad value (an unknown layer or keyword, a number out of range, an unreadable picture, "
          "weights of another network), before any compute, with the command line's one-line message")


def _signature(function: Callable, kind: Type[Task], positional: Tuple[str, ...], returns: str,
               own: Optional[Dict[str, str]] = None) -> None:
    """Give ``function`` the signature and the Args, Returns and Raises sections of the options it takes, from
    their declarations; ``own``: help of the keywords ``function`` itself declares, with their defaults."""
    from .core.options import KEY

    declared_here = inspect.signature(function).parameters
    params = [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Picture) for p in positional]
    params += [declared_here[k].replace(kind=inspect.Parameter.KEYWORD_ONLY) for k in (own or {})]
    settings = default(kind, "optimise").flat()  # a kind's own settings defaults (style: its weight decay)
    lines = [f"{p}: {kind.__dataclass_fields__[p].metadata[KEY].help}" for p in positional]
    lines += [f"{k}: {text}" for k, text in (own or {}).items()]  # defaults: in the signature
    for key, (group, d) in keywords(kind, positional).items():
        value = settings[d.name] if group == "settings" else d.default
        required = value is dataclasses.MISSING
        params.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=d.type,
                                        default=inspect.Parameter.empty if required else value))
        lines.append(f"{key}: {d.spec.help}")
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
               for k, (hint, _) in CALLBACKS.items()]
    lines += [f"{k}: {text}" for k, (_, text) in CALLBACKS.items()]
    function.__signature__ = inspect.Signature(params)
    function.__doc__ = (inspect.cleandoc(function.__doc__) + "\n\nArgs:\n" + "\n".join(f"    {line}" for line in lines)
                        + f"\n\nReturns:\n    {returns}\n\nRaises:\n    {RAISES}\n")


_signature(invert, Inversion, ("content",), ONE_PICTURE)
_signature(style_transfer, StyleTransfer, ("content", "style"), ONE_PICTURE)
_signature(visualise, Visualisation, (), SAMPLES, own={"samples": "how many images to optimise as one batch (their "
                                                                  "seeds seed, seed+1, ...); with diversity, they differ"})
