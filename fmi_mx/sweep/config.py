"""Experiment configs: plain YAML loaded into frozen dataclasses, every problem reported at once.

An experiment names its weights, device, image size, optimiser overrides, an inputs folder and a
list of panels; each panel is a grid of inversions or style transfers (see experiments/README.md).
"""
import dataclasses
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Type, Union

import yaml

from ..core.objectives import codes
from ..core.image import images
from ..core.network import vgg
from ..core.network import weights as weights_module
from ..core.optimisation import settings as settings_module
from ..core.optimisation.settings import Settings
from ..core.rules import number
from ..core.options import check_all, declared, option
from ..core.run.running import RunOptions
from ..core.optimisation.optimisers import STREAMING_METHODS
from ..core.tasks import (MODES, TASK_KINDS, Common, Inversion, StyleTransfer, Task, Visualisation, default, kind_of,
                          modes)
from .. import files
from ..errors import FmiError, Invalid, Problems
from . import kinds

RUNS = Path("runs")  # where experiments write, one folder each
INPUTS = Path("inputs")  # where image names of a config are looked up (``make inputs`` fills it)


#: a panel's grid axes: its key -> the task field each value goes to
AXES = {"contents": "content", "layers": "layers", "filters": "filter", "seeds": "seed", "styles": "style"}


@dataclass(frozen=True)
class Panel:
    """A grid of jobs: every content x layer x filter x seed (inversions) or content x style x seed (style).
    Any other key of a panel is an option of its task kind (``style_layers``, ``content_weight``, ...)."""

    mode: str = option(dataclasses.MISSING, "original, feature_map, random, purposeful (inversions) or gram, pmci "
                                            "(style transfer)", flag=None)
    contents: Tuple[str, ...] = option((), "content images: one job each (every mode but activation needs them)",
                                       flag=None)
    layers: Tuple[str, ...] = option((), "inversions and visualisations: one job per layer", flag=None)
    filters: Union[Tuple[int, ...], str] = option((), "feature_map, activation: one job per filter index (0-based): "
                                                      "a list, all (every filter of each layer) or a range A-B",
                                                  flag=None)
    seeds: Tuple[int, ...] = option((default(Task, "seed"),), "one job per seed (initial image, random codes)",
                                    flag=None)
    styles: Tuple[str, ...] = option((), "purposeful, gram, pmci: one job per style image", flag=None)
    optimise: Dict[str, Any] = field(default_factory=dict)  # this panel's optimiser settings, over the config's
    options: Tuple[Tuple[str, Any], ...] = ()  # other options of the task kind, (name, value) in the config's order


@dataclass(frozen=True)
class WeightSet:
    """One network and weights a claim runs its atlas with; ``name`` is its folder and its label."""

    name: str
    network: str = default(Task, "network")
    weights: str = ""  # empty: the network's file, models/<network>.params


@dataclass(frozen=True, kw_only=True)
class Experiment(Common, RunOptions):
    """One figure's worth of jobs and what they share: the options of ``Common`` (network, size, pooling,
    denoising) and of ``RunOptions`` (weights, device, memory, batches, snapshots) at the top level."""

    name: str = option(dataclasses.MISSING, "output folder runs/<name>/ (default: the file's name)", flag=None)
    panels: Tuple[Panel, ...] = option(dataclasses.MISSING, "list of panels, each with the panels[] keys", flag=None)
    figure: str = option("none", "fig3 (rows layers, columns filters), pairs (fig3 with each filter's results from every "
                         "content image side by side), fig4 (rows layers, columns draws), fig5 (rows "
                         "style images; columns style, Gatys, PMCI), atlas (the texture-identity score and a site), "
                         "claim (one atlas per weight set, compared), none (a table only)", choices=kinds.FIGURES, flag=None)
    inputs: str = option(str(INPUTS), "folder that image names are relative to; sample:NAME names a scikit-image "
                         "picture", flag=None)
    optimise: Dict[str, Any] = field(default_factory=dict)  # optimiser settings by public name
    style_weight_decay: float = option(default(StyleTransfer, "optimise").weight_decay,
                                       "weight decay of style-transfer jobs unless optimise.weight_decay is set",
                                       rule=number(0), flag=None)
    weight_sets: Tuple[WeightSet, ...] = option((), "figure claim: the same atlas for each of these (name, network, "
                                                "weights)", flag=None)
    reference: str = option("", "figure claim: the set whose network describes every set's textures too (default: "
                            "the first pretrained)", flag=None)
    throughput: bool = option(False, "the throughput setting for inversions: L-BFGS for 50 updates instead of the "
                              "original's SGD (the claim demo 2.7-2.8x faster, its identity scores within the faithful run's "
                              "intervals but one of twelve; the results are not the original's); optimise keys still win", flag=None, result=False)

    def for_set(self, ws: WeightSet) -> "Experiment":
        """A claim's atlas for one of its weight sets, in the folder ``<claim>/<set name>/``."""
        weights = ws.weights or (str(weights_module.default_path(ws.network)) if ws.network in vgg.NETWORKS else "")
        return dataclasses.replace(self, name=ws.name, network=ws.network, weights=weights, figure="atlas",
                                   weight_sets=(), reference="")

    def settings(self, kind: Type[Task] = Inversion, panel: Optional[Panel] = None) -> Settings:
        """A kind's optimiser settings: its own defaults (style transfers: ``style_weight_decay``), then the
        config's ``optimise`` overrides, then the panel's (a visualisation panel's own budget, say)."""
        base = default(kind, "optimise")  # every entry point starts from the kind's own defaults
        if issubclass(kind, StyleTransfer):
            base = base.replace(weight_decay=self.style_weight_decay)
        if self.throughput:
            base = base.replace(**kind.THROUGHPUT)
        return base.replace(**self.optimise).replace(**(panel.optimise if panel else {}))

    def image(self, name: str) -> str:
        """A panel's image name as a path (relative to ``inputs``) or ``sample:NAME``."""
        return name if name.startswith(images.SAMPLE_PREFIX) else str(Path(self.inputs) / name)

    def panel_tasks(self, panel: Panel) -> Tuple[Type[Task], Iterator[Dict[str, Any]]]:
        """The kind of a panel's tasks and the keyword arguments of each, in a stable order."""
        kind = kind_of(panel.mode)
        common = {d.name: getattr(self, d.name) for d in declared(Common)}
        common.update(panel.options, mode=panel.mode, optimise=self.settings(kind, panel))
        return kind, (dict(common, **kwargs) for kwargs in PANEL_TASKS[kind](self, panel))

    def tasks(self) -> Iterator[Tuple[int, Task]]:
        """(panel index, task) for every task of every panel."""
        for index, panel in enumerate(self.panels):
            kind, arguments = self.panel_tasks(panel)
            for kwargs in arguments:
                yield index, kind(**kwargs)


def filter_indices(filters: Union[Tuple[int, ...], str], layer: Optional[str],
                   net: vgg.Network) -> Tuple[Optional[int], ...]:
    """A panel's ``filters`` at one layer of ``net``: ``all`` of them, a range ``A-B`` (inclusive) or a list."""
    if not isinstance(filters, str):
        return tuple(filters) or (None,)
    if filters == "all":
        return tuple(range(net.layer(layer).channels)) if net.is_layer(layer) else (0,)
    first, last = (int(v) for v in filters.split("-"))
    return tuple(range(first, last + 1))


def _check_filters(value) -> None:
    if not re.fullmatch(r"all|\d+-\d+", value) or (value != "all" and int(value.split("-")[0]) > int(value.split("-")[1])):
        raise FmiError(f"'{value}' is not a filter list: use all, a range like 0-15, or a list like [0, 3]")


def _inversions(exp: Experiment, panel: Panel) -> Iterator[Dict[str, Any]]:
    change = codes.modification(panel.mode)
    styles = (panel.styles or (None,)) if change.uses_style else (None,)
    for content in panel.contents:
        for layer in panel.layers or (None,):
            filters = filter_indices(panel.filters, layer, exp.net) if change.uses_filter else (None,)
            for k in filters:
                for style in styles:
                    for seed in panel.seeds:
                        yield dict(content=exp.image(content), layers=(layer,) if layer else (), filter=k,
                                   style=exp.image(style) if style else None, seed=seed)


def _style_transfers(exp: Experiment, panel: Panel) -> Iterator[Dict[str, Any]]:
    for content in panel.contents:
        for style in panel.styles or (None,):
            for seed in panel.seeds:
                yield dict(content=exp.image(content), style=exp.image(style) if style else None, seed=seed)


def _visualisations(exp: Experiment, panel: Panel) -> Iterator[Dict[str, Any]]:
    for layer in panel.layers or (None,):
        for k in filter_indices(panel.filters, layer, exp.net):
            for seed in panel.seeds:
                yield dict(layers=(layer,) if layer else (), filter=k, seed=seed)


#: how a panel becomes tasks, per task kind
PANEL_TASKS = {Inversion: _inversions, StyleTransfer: _style_transfers, Visualisation: _visualisations}


#: keys that hold a list of mappings, each read into its own dataclass
NESTED = {"panels": Panel, "weight_sets": WeightSet}
_BAD = object()  # a value of the wrong type: reported, then left out so that its default is used


def _coerce(value, kind, key: str, errors: Problems):
    """Check one value against a field type (int, float, str, Tuple[X, ...], Dict); _BAD if it fails."""
    origin = getattr(kind, "__origin__", None)
    if origin is Union:  # filters: a string is taken by the caller, a list is a tuple of its kind
        kind = next(a for a in kind.__args__ if getattr(a, "__origin__", None) is tuple)
        origin = tuple
    if origin is tuple:
        items = value if isinstance(value, list) else [value]
        coerced = [_coerce(v, kind.__args__[0], f"{key}[{i}]", errors) for i, v in enumerate(items)]
        return tuple(v for v in coerced if v is not _BAD)
    if origin is dict or kind is dict:
        if isinstance(value, dict):
            return value
        errors.add(key, f"expected a mapping, got {value!r}")
        return _BAD
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
        except ValueError:
            pass
    if kind in (int, str) and isinstance(value, kind) and not isinstance(value, bool):
        return value
    if kind is bool and isinstance(value, bool):
        return value
    errors.add(key, f"expected {kind.__name__}, got {value!r}")
    return _BAD


def panel_options(mode) -> Dict[str, Any]:
    """The options a panel of ``mode`` may set besides its grid (a style transfer's layers and weights):
    its task kind's own fields, by name and type."""
    if mode not in MODES:
        return {}
    kind = kind_of(mode)
    shared = {f.name for f in fields(Task)} | set(AXES.values()) | {"mode"}
    return {d.name: d.type for d in declared(kind, groups=False) if d.name not in shared}


def _build(cls, data: dict, prefix: str, errors: Problems):
    """``cls`` from a mapping: unknown keys and wrong types reported, the wrong values left at their defaults."""
    if not isinstance(data, dict):
        errors.add(prefix.rstrip(".") or "top level", f"expected a mapping, got {data!r}")
        return None
    own = getattr(cls, "__annotations__", {})  # a class's own keys first, then those it shares (Common, RunOptions)
    known = {f.name: f for f in sorted(fields(cls), key=lambda f: f.name not in own)
             if f.name != "options" or cls is not Panel}
    extra = panel_options(data.get("mode")) if cls is Panel else {}
    values, options = {}, []
    for key, value in data.items():
        if key in extra:
            coerced = _coerce(value, extra[key], f"{prefix}{key}", errors)
            if coerced is not _BAD:
                options.append((key, coerced))
        elif key not in known:
            errors.add(f"{prefix}{key}", f"unknown key (allowed: {', '.join(list(known) + list(extra))})")
        elif key == "filters" and isinstance(value, str):
            with errors.at(f"{prefix}{key}"):
                _check_filters(value)
                values[key] = value
        elif key == "optimise" and isinstance(value, dict):
            values[key] = _overrides(value, f"{prefix}optimise.", errors)
        elif key in NESTED:
            if not isinstance(value, list) or not value:
                errors.add(f"{prefix}{key}", f"expected a non-empty list of {key.replace('_', ' ')}")
            else:
                values[key] = tuple(_build(NESTED[key], p, f"{key}[{i}].", errors) for i, p in enumerate(value))
        else:
            values[key] = _coerce(value, known[key].type, f"{prefix}{key}", errors)
    values = {k: v for k, v in values.items() if v is not _BAD}
    if options:
        values["options"] = tuple(options)
    for name, f in known.items():
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and name not in values:
            errors.add(f"{prefix}{name}", "missing (required)")
    try:
        return cls(**values)
    except TypeError:
        return None


def _overrides(data: dict, prefix: str, errors: Problems) -> Dict[str, Any]:
    """Type-checked overrides of some optimiser settings, by their public names."""
    known = settings_module.public()
    out = {}
    for key, value in data.items():
        if key not in known:
            errors.add(f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(known))})")
        else:
            out[key] = _coerce(value, known[key].type, f"{prefix}{key}", errors)
    return {k: v for k, v in out.items() if v is not _BAD}


def _check(exp: Experiment, problems: Problems) -> None:
    """Values that have the right type but are not allowed: the experiment's own rules here, the
    optimiser's and the tasks' rules by making the settings and every task of every panel."""
    with problems.at("name"):
        files.check_name(exp.name)
    for name, _, message in check_all(exp, groups=False):  # Common's rules: its tasks say so, by key
        if name not in {d.name for d in declared(Common)}:
            problems.add(name, message)
    if exp.animate and not exp.save_every:
        problems.add("animate", "needs save_every N (the snapshots it animates)")
    try:
        exp.settings()
    except Invalid as e:
        for name, _, message in e.problems:
            problems.add(f"optimise.{name}", message)
        exp = dataclasses.replace(exp, optimise={})  # so the tasks can still be checked
    checked: Dict[str, str] = {}
    for variant in _variants(exp, problems):
        for i, panel in enumerate(exp.panels):
            if panel is not None:
                _check_panel(variant, i, panel, problems, checked)


def _variants(exp: Experiment, problems: Problems) -> Tuple[Experiment, ...]:
    """The experiments whose tasks must hold (a claim's atlas for each of its weight sets, else the
    experiment), after the figure kind's own rules."""
    if exp.figure not in kinds.KINDS:
        return (exp,)  # the figure option's own rule says what is allowed
    return kinds.of(exp.figure).check(exp, problems)


def _check_panel(exp: Experiment, i: int, panel: Panel, problems: Problems, checked: Dict[str, str]) -> None:
    at = f"panels[{i}]"
    if not panel.contents and panel.mode != "activation":
        problems.add(f"{at}.contents", f"needs at least one image (mode {panel.mode})")
    for key in ("contents", "styles"):
        for j, name in enumerate(getattr(panel, key)):
            source = exp.image(name)
            if source not in checked:  # each image decoded once, to find truncated files too
                try:
                    images.check(source, decode=True)
                    checked[source] = ""
                except FmiError as e:
                    checked[source] = str(e)
            if checked[source]:
                problems.add(f"{at}.{key}[{j}]", checked[source])
    if panel.optimise and panel.mode in MODES:
        try:
            exp.settings(kind_of(panel.mode), panel)
        except Invalid as e:
            for name, _, message in e.problems:
                problems.add(f"{at}.optimise.{name}", message)
            return
    try:
        kind, arguments = exp.panel_tasks(panel)
    except FmiError as e:
        problems.add(f"{at}.mode", str(e))
        return
    method = exp.settings(kind, panel).method
    if exp.continuous and method not in STREAMING_METHODS:
        problems.add("continuous", f"{at} optimises with {method}, and continuous batching streams only "
                                   f"{' and '.join(STREAMING_METHODS)}; set continuous: false, or a method that streams")
    first = None  # a panel's tasks share their kind of loss terms: the first valid one speaks for all
    for kwargs in arguments:
        try:
            task = kind(**kwargs)
        except Invalid as e:
            for name, value, message in e.problems:
                problems.add(_key(i, panel, name, value), message)
            continue
        first = first or task
    coupled = [t.NAME for t in first.terms(first.size, first.size) if t.COUPLED] if first else []
    if coupled:
        problems.add(f"{at}.objective", f"{coupled[0]} couples the images of one batch, and a sweep's jobs are "
                                        "runs of their own: draw such a batch with fmi_mx.visualise(samples=N)")


def _key(index: int, panel: Panel, name: str, value: object) -> str:
    """The config key a task field came from: ``panels[0].layers[1]``, ``panels[0].styles``, ``size``."""
    axis = next((key for key, field_name in AXES.items() if field_name == name), None)
    if axis is None and name != "mode" and name not in dict(panel.options):
        return name
    key = axis or name
    items = getattr(panel, key) if axis else dict(panel.options).get(name, value) if name != "mode" else value
    at = f"panels[{index}].{key}"
    return f"{at}[{items.index(value)}]" if isinstance(items, tuple) and value in items else at


def _set(data: dict, assignment: str) -> None:
    """Apply ``a.b=value`` (value parsed as YAML) to nested dicts."""
    path, sep, raw = assignment.partition("=")
    if not sep or not path:
        raise FmiError(f"{assignment!r}: use key.path=value")
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise FmiError(f"'{key}' is not a mapping")
    try:
        node[keys[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise FmiError(f"{raw!r} is not a YAML value ({getattr(e, 'problem', None) or e})") from None


MAX_CONFIG_BYTES = 1 << 20  # a config is a few hundred bytes; lists of filters take ranges (A-B) or all
MAX_ALIASES = 64  # anchors reused (*name, <<: *name); far more means an expansion bomb, not a figure


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a config may not be: a duplicate key, too many aliases."""


class _StrictLoader(yaml.SafeLoader):
    """YAML as configs need it: a key given twice is an error naming both lines, and aliases are bounded."""

    def __init__(self, stream):
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(problem=f"more than {MAX_ALIASES} aliases (*anchor): refused, as an expansion bomb "
                                       "would be", problem_mark=self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:  # the mapping's own keys; merged ones (<<: *anchor) may be overridden
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise _Refused(problem=f"key '{key_node.value}' is given twice (lines {seen[key_node.value] + 1} "
                                           f"and {key_node.start_mark.line + 1})", problem_mark=key_node.start_mark)
                seen[key_node.value] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _read(path: Path):
    """The YAML document of a config; a syntax error as ``file:line:column: problem``."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise FmiError(f"config {path} is {size:,} bytes, over the {MAX_CONFIG_BYTES:,} a config may have: give "
                           "filters as a range (0-511) or all, not one by one")
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise FmiError(f"config {path} cannot be read ({getattr(e, 'strerror', None) or e})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        kind = "" if isinstance(e, _Refused) else "YAML syntax error: "
        raise FmiError(f"{where}: {kind}{e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise FmiError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None


def load(path, overrides: Sequence[str] = (), base: Optional[Path] = None) -> Experiment:
    """Read, override, type-check and value-check a config; every problem in one error."""
    path = Path(path)
    if path.is_dir():
        raise FmiError(f"config {path} is a folder: name a YAML file in it")
    if not path.is_file():
        raise FmiError(f"config {path} not found")
    data = _read(path)
    data = {} if data is None else data
    problems = Problems(str(path))
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
        for assignment in overrides:
            with problems.at(f"--set {assignment.partition('=')[0]}"):
                _set(data, assignment)
    exp = _build(Experiment, data, "", problems)
    if exp is not None:
        if not Path(exp.inputs).is_absolute():
            exp = dataclasses.replace(exp, inputs=str((base or Path.cwd()) / exp.inputs))
        if not exp.weights and exp.network in vgg.NETWORKS:
            exp = dataclasses.replace(exp, weights=str(weights_module.default_path(exp.network)))
        _check(exp, problems)
    problems.raise_if_any()
    return exp


def validate(exp: Experiment, where: str) -> Experiment:
    """Check an experiment made in code (not read from a file) by the same rules; every problem at once."""
    problems = Problems(where)
    _check(exp, problems)
    problems.raise_if_any()
    return exp


def table() -> str:
    """Every key of a config as a Markdown table (key, default, meaning), from the declarations: the
    experiment's own keys and the options it shares with tasks and runs, the optimiser settings
    (``optimise.*``), a panel's keys and the options a panel of each task kind may set."""
    def shown(value) -> str:
        if value is dataclasses.MISSING:
            return "required"
        if isinstance(value, tuple):
            return f"`[{', '.join(map(str, value))}]`" if value else "—"
        return f"`{value}`" if value != "" else "—"

    def row(key, d, note=""):
        return f"| `{key}` | {shown(d.default)} | {d.spec.help.replace('|', '&#124;')}{note} |"

    own = Experiment.__annotations__
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    lines += [row(d.name, d) for d in sorted(declared(Experiment, groups=False), key=lambda d: d.name not in own)]
    lines += [row(f"optimise.{d.name}", d) for d in declared(Settings)]
    lines += [row(f"panels[].{d.name}", d) for d in declared(Panel)]
    lines.append("| `panels[].optimise.*` | — | any `optimise` key, for this panel's jobs alone, over the config's |")
    for kind in TASK_KINDS:
        for name in panel_options(modes(kind)[0]):
            d = next(d for d in declared(kind, groups=False) if d.name == name)
            lines.append(row(f"panels[].{name}", d, f" ({kind.KIND} panels)"))
    return "\n".join(lines) + "\n"


def to_dict(exp: Experiment) -> Dict[str, Any]:
    """Plain data for ``config.resolved.yaml``: the config's keys, a panel's options among its own."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return [plain(x) for x in v] if isinstance(v, (list, tuple)) else v
    out = plain(dataclasses.asdict(exp))
    for panel in out["panels"]:
        panel.update(dict(panel.pop("options")))
    return out

