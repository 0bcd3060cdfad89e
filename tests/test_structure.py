"""The package's shape: no import cycle, short functions, no task-kind checks outside the task kinds, no
string switches on loss kinds outside the term classes, no positional reads of graph keys, and every
option declared once and spelled only where it is used."""
import ast
from pathlib import Path


from fmi_mx.core.options import declared
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.core.run.running import RunOptions
from fmi_mx.core.tasks import Inversion, StyleTransfer, Visualisation
from fmi_mx.sweep.config import table

PACKAGE = Path(__file__).resolve().parents[1] / "fmi_mx"
TASK_KINDS = {"Task", "Inversion", "StyleTransfer"}


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


def _folder(module: str) -> str:
    """A module's folder inside the package (``fmi_mx.atlas.build`` -> ``atlas``; top-level modules: their name)."""
    return module.split(".")[1] if module.count(".") >= 1 else module


def test_no_folder_imports_a_folder_that_imports_it():
    graph = {name: _imports(name, path, tree) for name, (path, tree) in MODULES.items()}
    folders: dict = {}
    for name, imported in graph.items():
        folders.setdefault(_folder(name), set()).update(_folder(m) for m in imported if _folder(m) != _folder(name))
    assert "figures" in folders["atlas"] and "sweep" not in folders["atlas"]  # the figures stand outside sweep
    cycle = _cycle(folders)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None
    tree = ast.parse("from . import jobs\nfrom ..core.run.engine import Runner\n")
    assert _imports("fmi_mx.sweep.pool", PACKAGE / "sweep" / "pool.py", tree) == {"fmi_mx.sweep.jobs",
                                                                                  "fmi_mx.core.run.engine"}


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
                if names & TASK_KINDS:
                    found.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
                if {getattr(n, "id", None) for n in node.comparators} & TASK_KINDS:
                    found.append(f"{name}:{node.lineno}")
    assert not found


def _code_words(tree) -> set:
    """Identifiers, attributes, keywords and the words of string constants of a module, docstrings left out."""
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, (ast.keyword, ast.arg)) and node.arg:
            words.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            words |= {w.strip(".,:;()[]'\"`") for w in node.value.replace("=", " ").split()}
    return words


KINDS = (Inversion, StyleTransfer, Visualisation, Settings, RunOptions)
INTERFACES = ("fmi_mx/api.py", "fmi_mx/cli.py", "fmi_mx/sweep/config.py")
#: the options an interface may spell, and why: every other one reaches the command line, the API and the
#: config schema through its declaration alone
SPELLED_BY_INTERFACES = {
    "content": "the pictures are positional arguments of the command line and the API",
    "style": "the pictures are positional arguments of the command line and the API",
    "layers": "a panel's layers make one job each; the API and command line split a comma-separated list",
    "filter": "a panel's filters make one job each (and Python's builtin filter)",
    "mode": "a panel's mode picks its task kind",
    "seed": "a panel's seeds make one job each; an output file is named by its seed",
    "network": "weights fetch and the claim's weight sets name a network",
    "size": "the demo's own picture size",
    "max_iterations": "the demo's own update budget (0: each task's default)",
    "objective": "an output file is named by its objective",
    "method": "continuous batching is refused for a method that does not stream",
    "weight_decay": "the style kinds' own weight decay (style_weight_decay)",
}


def test_every_option_is_declared_once_per_kind():
    for kind in KINDS:
        names = [d.name for d in declared(kind)]
        assert len(names) == len(set(names)), kind.__name__
        flags = [d.flag for d in declared(kind) if d.flag]
        assert len(flags) == len(set(flags)), kind.__name__


def test_an_interface_spells_an_option_only_for_a_reason_of_its_own():
    """Every option name of what a task computes (its kinds and the optimiser settings; run options are the
    interfaces' own business) is looked for in the command line, the API and the config module: each one
    found there must be in ``SPELLED_BY_INTERFACES`` with its reason, and each reason must still be needed."""
    names = {d.name for kind in KINDS if kind is not RunOptions for d in declared(kind)}
    spelled = set()
    for path, tree in MODULES.values():
        if str(path.relative_to(PACKAGE.parent)) in INTERFACES:
            spelled |= names & _code_words(tree)
    assert spelled - set(SPELLED_BY_INTERFACES) == set()
    assert set(SPELLED_BY_INTERFACES) - spelled == set()  # a reason no longer needed goes


def test_an_option_has_one_name_for_its_field_flag_key_and_messages():
    """The public name is the field's (or, where the field's would be ambiguous, the declared name); the
    flag is that name; a bounded rule takes its name from the option."""
    from fmi_mx.core.rules import Bounded

    for kind in KINDS:
        for d in declared(kind):
            if d.flag and d.flag != "--layer":  # a visualisation's one layer: --layer, its field layers
                assert d.flag == "--" + d.name.replace("_", "-"), (kind.__name__, d.name, d.flag)
            if isinstance(d.spec.rule, Bounded):
                try:
                    d.check(-1e30)
                except Exception as e:  # every bound refuses -1e30
                    assert str(e).startswith(d.spec.what or d.name), str(e)


def test_no_string_switch_on_loss_kinds_outside_the_term_classes():
    losses = {"code", "gram", "channel_sum"}
    found = []
    for name, (_, tree) in MODULES.items():
        if name == "fmi_mx.core.objectives.losses":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                operands = [node.left] + node.comparators
                kinds = any(isinstance(o, ast.Attribute) and o.attr in ("kind", "NAME") for o in operands)
                named = {o.value for o in ast.walk(node) if isinstance(o, ast.Constant)}
                if kinds and named & losses:
                    found.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict) and \
                    {k.value for k in node.value.keys if isinstance(k, ast.Constant)} & losses:
                found.append(f"{name}:{node.lineno}")
    assert not found


def test_no_positional_reads_of_graph_keys():
    def named_key(node) -> bool:  # key, graph_key, self.key, cache.batch_key ...
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        return name == "key" or name.endswith("_key")

    found = [f"{name}:{node.lineno}" for name, (_, tree) in MODULES.items() for node in ast.walk(tree)
             if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
             and isinstance(node.slice.value, int) and named_key(node.value)]
    assert not found


def test_the_options_table_is_the_declarations():
    assert "| `optimise.lbfgs_history` | `10` |" in table() and "| `network` | `vgg19` |" in table()
    assert table() in (PACKAGE.parent / "docs" / "reference" / "config.md").read_text()
