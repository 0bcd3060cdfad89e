"""The example notebooks: each runs top to bottom at a few pixels and updates, prints scores in their
ranges, and its committed .ipynb is its percent script's, with outputs from trained weights."""
import importlib.util
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
for package in ("jupytext", "nbclient", "ipykernel"):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed: pip install -e .[docs]", allow_module_level=True)

import jupytext  # noqa: E402
import nbformat  # noqa: E402

from execute import NOTEBOOKS, execute, source, text_outputs, with_parameters  # noqa: E402

QUICK = {"SIZE": 32, "ITERATIONS": 3}
NUMBER = r"(-?[0-9.]+|nan)"


def numbers(pattern: str, text: str):
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not in the notebook's output:\n{text}"
    return [[float(x) for x in (row if isinstance(row, tuple) else (row,))] for row in found]


@pytest.mark.slow
def test_first_fmi_scores_identity_for_both_weight_sets():
    out = text_outputs(execute("first_fmi", {**QUICK, "FILTERS": [0, 1, 2]}))
    rows = numbers(rf"identity accuracy {NUMBER}  \(chance {NUMBER}, labels shuffled {NUMBER}", out)
    assert len(rows) == 2  # trained (or its stand-in) and untrained
    for accuracy, chance, shuffled in rows:
        assert chance == pytest.approx(1 / 3, abs=0.01)
        assert 0 <= accuracy <= 1 and 0 <= shuffled <= 1


@pytest.mark.slow
def test_style_notebook_measures_both_losses():
    out = text_outputs(execute("style_pmci_gram", {**QUICK, "SIZE": 48}))
    rows = {mode: values for mode, *values in re.findall(rf"^(gram|pmci)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$", out, re.M)}
    assert set(rows) == {"gram", "pmci"}, out
    for values in rows.values():
        assert all(math.isfinite(float(v)) and float(v) >= 0 for v in values)


@pytest.mark.slow
def test_visualisation_notebook_scores_agreement():
    out = text_outputs(execute("visualisation_vs_fmi", {**QUICK, "FMI_ITERATIONS": 3, "FILTERS": [0, 1, 2, 3]}))
    [[accuracy, mrr, chance]] = numbers(rf"agreement accuracy {NUMBER}, MRR {NUMBER} \(chance {NUMBER}", out)
    assert chance == 0.25 and (math.isnan(accuracy) or 0 <= accuracy <= 1 and accuracy <= mrr <= 1)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_its_script_run_on_trained_weights(name):
    committed = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    script = source(name)
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in script.cells], \
        f"examples/{name}.ipynb differs from {name}.py: run python examples/execute.py {name}"
    printed = text_outputs(committed)
    first = printed.split("\n")[0]
    assert "VGG-19, ImageNet" in first and "untrained" not in first.partition(":")[2], first
    pictures = [o for c in committed.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if "image/png" in o.get("data", {})]
    assert pictures, f"examples/{name}.ipynb carries no figure"


def test_parameters_are_injected_and_unknown_ones_refused():
    notebook = with_parameters(source("first_fmi"), {"SIZE": 8})
    at = next(n for n, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    assert notebook.cells[at + 1].source == "SIZE = 8"
    with pytest.raises(ValueError, match="unknown parameter SIZ: the parameter cell sets"):
        with_parameters(source("first_fmi"), {"SIZ": 8})


def test_percent_scripts_pair_with_their_notebooks():
    for name in NOTEBOOKS:
        formats = jupytext.read(EXAMPLES / f"{name}.py").metadata["jupytext"]["formats"]
        assert formats == "ipynb,py:percent"
