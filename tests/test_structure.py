"""The package's shape: no import cycle, short functions, no task-kind checks outside the task kinds,
one source for every default (the CLI's equal the tasks' and the config's)."""
import ast
from pathlib import Path

import pytest

from fmi_mx import api, cli
from fmi_mx.core import memory
from fmi_mx.core.optimise import Settings
from fmi_mx.core.tasks import Inversion, StyleTransfer, Task, default
from fmi_mx.sweep.config import Experiment, Panel
from fmi_mx.tools import demo

PACKAGE = Path(__file__).resolve().parents[1] / "fmi_mx"
KINDS = {"Task", "Inversion", "StyleTransfer"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text())


MODULES = {name: (path, tree) for name, path, tree in _modules()}


def _type_checking_only(tree):
    """Nodes under ``if TYPE_CHECKING:`` (annotations only: never imported at run time)."""
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            hidden |= {id(n) for child in node.body for n in ast.walk(child)}
    return hidden


def _imports(name: str, path: Path, tree) -> set:
    """Every fmi_mx module this one imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    hidden, found = _type_checking_only(tree), set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def _cycle(graph: dict):
    """The first import cycle found by a depth-first walk, as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    graph = {name: _imports(name, path, tree) for name, (path, tree) in MODULES.items()}
    assert graph["fmi_mx.sweep.experiment"] >= {"fmi_mx.sweep.pool", "fmi_mx.sweep.jobs"}  # the walk sees imports
    assert graph["fmi_mx.sweep.pool"] >= {"fmi_mx.sweep.jobs"}  # ... inside functions too
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None
    tree = ast.parse("from . import jobs\nfrom ..core.engine import Runner\n")
    assert _imports("fmi_mx.sweep.pool", PACKAGE / "sweep" / "pool.py", tree) == {"fmi_mx.sweep.jobs",
                                                                                  "fmi_mx.core.engine"}


def test_no_function_over_60_lines():
    long = [f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for name, (_, tree) in MODULES.items() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60]
    assert not long


def test_no_task_kind_checks_outside_the_task_kinds():
    found = []
    for name, (_, tree) in MODULES.items():
        if name == "fmi_mx.core.tasks":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                names |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                if names & KINDS:
                    found.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
                if {getattr(n, "id", None) for n in node.comparators} & KINDS:
                    found.append(f"{name}:{node.lineno}")
    assert not found


def test_cli_defaults_are_the_task_and_config_defaults():
    parser = cli.build_parser()
    invert = vars(parser.parse_args(["invert", "x.png", "--layers", "relu1_1"]))
    style = vars(parser.parse_args(["style", "x.png", "y.png"]))
    exp = Experiment(name="t", panels=())
    for a in (invert, style):
        assert a["size"] == default(Task, "size") == exp.size
        assert a["seed"] == default(Task, "seed") == default(Panel, "seeds")[0]
        assert a["pooling"] == default(Task, "pooling") == exp.pooling
        assert a["remove_noise"] == default(Task, "remove_noise") == exp.remove_noise
        assert a["iterations"] == default(Settings, "max_iterations") == exp.settings().max_iterations
        assert a["stop_eps"] == default(Settings, "stop_eps") == exp.settings().stop_eps
        assert a["log_every"] == default(Settings, "log_every") == exp.settings().log_every
        assert a["weights"] is None and exp.weights == ""  # both: the network's file, models/<network>.params
        assert a["network"] == default(Task, "network") == exp.network == "vgg19"
        assert a["device"] == exp.device == "cpu"
        assert a["max_memory"] == memory.DEFAULT_MAX_MEMORY == exp.max_memory
        for key in ("method", "tv_weight", "tv_beta", "jitter"):
            assert a[key] == default(Settings, key) == getattr(exp.settings(), key)
        assert a["options"] is None
    assert invert["mode"] == default(Inversion, "mode") == "original"
    assert invert["weight_decay"] == default(Inversion, "optimise").weight_decay == exp.settings().weight_decay
    assert style["mode"] == default(StyleTransfer, "mode") == "gram"  # the original's default: Gatys
    assert style["weight_decay"] == default(StyleTransfer, "optimise").weight_decay == exp.style_weight_decay
    assert tuple(style["style_layers"]) == default(StyleTransfer, "style_layers") == default(Panel, "style_layers")
    for key in ("content_layer", "content_weight", "style_weight"):
        assert style[key] == default(StyleTransfer, key) == default(Panel, key)
    demo_args = vars(parser.parse_args(["demo"]))
    assert demo_args["iterations"] == 0  # 0: the default max_iterations (the demo overrides nothing)
    assert demo.make(weights="random:0").settings().max_iterations == default(Settings, "max_iterations")
    assert set(cli.defaults(api.invert)) <= set(invert) | {"log", "on_snapshot"}  # every API option is a CLI option
    assert set(cli.defaults(api.style_transfer)) <= set(style) | {"log", "on_snapshot"}


def test_style_help_shows_gram_as_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["style", "-h"])
    assert "(default: gram)" in " ".join(capsys.readouterr().out.split())
