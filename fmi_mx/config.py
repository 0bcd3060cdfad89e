"""Experiment configs: plain YAML loaded into frozen dataclasses, every problem reported at once.

An experiment names its weights, device, image size, optimiser overrides, an inputs folder and a
list of panels; each panel is a grid of inversions or style transfers (see experiments/README.md).
"""
import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import yaml

from . import codes, images, vgg
from .errors import FmiError
from .optimise import Settings

FIGURES = ("fig3", "fig4", "fig5", "none")
PANEL_MODES = codes.MODES + ("gram", "pmci")


@dataclass(frozen=True)
class Panel:
    """A grid of jobs: every content x layer x filter x seed (inversions) or content x style x seed (style)."""

    mode: str
    contents: Tuple[str, ...]
    layers: Tuple[str, ...] = ()
    filters: Tuple[int, ...] = ()
    seeds: Tuple[int, ...] = (0,)
    styles: Tuple[str, ...] = ()
    style_layers: Tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    content_layer: str = "relu2_2"
    content_weight: float = 10.0
    style_weight: float = 1.0


@dataclass(frozen=True)
class Experiment:
    """One figure's worth of jobs and the settings they share."""

    name: str
    panels: Tuple[Panel, ...]
    figure: str = "none"
    weights: str = "models/vgg19.params"
    device: str = "cpu"
    size: int = 512
    inputs: str = "inputs"
    pooling: str = "avg"
    remove_noise: float = 0.2
    optimise: Dict[str, Any] = field(default_factory=dict)  # overrides of optimise.Settings
    style_weight_decay: float = 5e-3  # the style script's weight decay (inversions use optimise's)
    batch_size: int = 0  # jobs per executor; 0 = as many as fit max_memory, at most 8
    max_memory: float = 4096.0  # MB one worker's executors may use (estimated before binding)

    def settings(self, style: bool) -> Settings:
        base = dict(self.optimise)
        if style and "weight_decay" not in base:
            base["weight_decay"] = self.style_weight_decay
        return Settings(**base)

    def image(self, name: str) -> str:
        """A panel's image name as a path (relative to ``inputs``) or ``sample:NAME``."""
        return name if name.startswith(images.SAMPLE_PREFIX) else str(Path(self.inputs) / name)


class _Errors:
    def __init__(self, where: str):
        self.where, self.items = where, []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{self.where}: {key}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise FmiError("; ".join(self.items) if len(self.items) == 1 else
                           f"{len(self.items)} problems: " + " | ".join(self.items))


def _coerce(value, kind, key: str, errors: _Errors):
    """Check one value against a field type (int, float, str, Tuple[X, ...], Dict)."""
    origin = getattr(kind, "__origin__", None)
    if origin is tuple:
        items = value if isinstance(value, list) else [value]
        return tuple(_coerce(v, kind.__args__[0], f"{key}[{i}]", errors) for i, v in enumerate(items))
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            errors.add(key, f"expected a mapping, got {value!r}")
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str) and isinstance(value, kind) and not isinstance(value, bool):
        return value
    errors.add(key, f"expected {kind.__name__}, got {value!r}")
    return value


def _build(cls, data: dict, prefix: str, errors: _Errors):
    if not isinstance(data, dict):
        errors.add(prefix or "top level", f"expected a mapping, got {data!r}")
        return None
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in known:
            errors.add(f"{prefix}{key}", f"unknown key (allowed: {', '.join(known)})")
        elif key == "panels":
            if not isinstance(value, list) or not value:
                errors.add("panels", "expected a non-empty list of panels")
            else:
                values[key] = tuple(_build(Panel, p, f"panels[{i}].", errors) for i, p in enumerate(value))
        else:
            values[key] = _coerce(value, known[key].type, f"{prefix}{key}", errors)
    for name, f in known.items():
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and name not in values:
            errors.add(f"{prefix}{name}", "missing (required)")
    try:
        return cls(**values)
    except TypeError:
        return None


def _check(exp: Experiment, errors: _Errors) -> None:
    """Values that have the right type but are not allowed."""
    def allowed(key, value, options):
        if value not in options:
            errors.add(key, f"'{value}' is not allowed (allowed: {', '.join(map(str, options))})")

    def layer(key, name):
        try:
            vgg.layer(name)
            return True
        except FmiError:
            errors.add(key, f"unknown layer '{name}' (allowed: relu1_1 .. relu5_4, conv*, pool1..pool4)")
            return False

    allowed("figure", exp.figure, FIGURES)
    allowed("pooling", exp.pooling, vgg.POOLINGS)
    if exp.size < 1:
        errors.add("size", f"must be a positive number of pixels, not {exp.size}")
    if exp.batch_size < 0:
        errors.add("batch_size", f"must be 0 (automatic) or a positive number, not {exp.batch_size}")
    if exp.max_memory <= 0:
        errors.add("max_memory", f"must be a positive number of MB, not {exp.max_memory}")
    settings = {f.name for f in fields(Settings)}
    for key in exp.optimise:
        if key not in settings:
            errors.add(f"optimise.{key}", f"unknown key (allowed: {', '.join(sorted(settings))})")
    for i, p in enumerate(exp.panels):
        at = f"panels[{i}]"
        allowed(f"{at}.mode", p.mode, PANEL_MODES)
        if not p.contents:
            errors.add(f"{at}.contents", "needs at least one image")
        inversion = p.mode in codes.MODES
        if inversion and not p.layers:
            errors.add(f"{at}.layers", f"mode {p.mode} needs layers")
        for j, name in enumerate(p.layers):
            if layer(f"{at}.layers[{j}]", name) and p.mode == "feature_map":
                channels = vgg.layer(name).channels
                for k in p.filters:
                    if not 0 <= k < channels:
                        errors.add(f"{at}.filters", f"filter {k} does not exist at {name} (allowed: 0..{channels - 1})")
        if p.mode == "feature_map" and not p.filters:
            errors.add(f"{at}.filters", "mode feature_map needs filters")
        if (p.mode in ("purposeful", "gram", "pmci")) and not p.styles:
            errors.add(f"{at}.styles", f"mode {p.mode} needs style images")
        if not inversion:
            for j, name in enumerate(p.style_layers):
                layer(f"{at}.style_layers[{j}]", name)
            layer(f"{at}.content_layer", p.content_layer)
        for key, names in (("contents", p.contents), ("styles", p.styles)):
            for name in names:
                source = exp.image(name)
                if source.startswith(images.SAMPLE_PREFIX):
                    if source[len(images.SAMPLE_PREFIX):] not in images.SAMPLES:
                        errors.add(f"{at}.{key}", f"unknown sample '{name}' (allowed: {', '.join(images.SAMPLES)})")
                elif not Path(source).is_file():
                    errors.add(f"{at}.{key}", f"image {source} not found")


def _set(data: dict, assignment: str, where: str) -> None:
    """Apply ``a.b=value`` (value parsed as YAML) to nested dicts."""
    path, sep, raw = assignment.partition("=")
    if not sep or not path:
        raise FmiError(f"--set {assignment!r}: use key.path=value")
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise FmiError(f"{where}: --set {path}: '{key}' is not a mapping")
    node[keys[-1]] = yaml.safe_load(raw)


def load(path, overrides: Sequence[str] = (), base: Optional[Path] = None) -> Experiment:
    """Read, override, type-check and value-check a config; all problems in one error."""
    path = Path(path)
    if not path.is_file():
        raise FmiError(f"config {path} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise FmiError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
        for assignment in overrides:
            _set(data, assignment, str(path))
    errors = _Errors(str(path))
    exp = _build(Experiment, data, "", errors)
    errors.raise_if_any()
    if not Path(exp.inputs).is_absolute():
        exp = dataclasses.replace(exp, inputs=str((base or Path.cwd()) / exp.inputs))
    _check(exp, errors)
    errors.raise_if_any()
    return exp


def to_dict(exp: Experiment) -> Dict[str, Any]:
    """Plain data for ``config.resolved.yaml``."""
    def plain(v):
        return [plain(x) for x in v] if isinstance(v, (list, tuple)) else v
    out = dataclasses.asdict(exp)
    out["panels"] = [{k: plain(v) for k, v in p.items()} for p in out["panels"]]
    return out

