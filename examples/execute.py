"""Run the example notebooks: each jupytext percent script (the reviewed source) becomes its paired .ipynb,
executed with nbclient in this folder, optionally with its parameter cell overridden.

    python examples/execute.py                               # every notebook at its own parameters, .ipynb written
    python examples/execute.py first_fmi --set SIZE=32 --set ITERATIONS=3 --no-write   # a quick check
"""
import argparse
import ast
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("first_fmi", "style_pmci_gram", "visualisation_vs_fmi")
PARAMETERS = "parameters"  # the tag of the cell that holds a notebook's settings (papermill's convention)


def source(name: str) -> nbformat.NotebookNode:
    """The notebook as its percent script says, without outputs."""
    return jupytext.read(HERE / f"{name}.py")


def with_parameters(notebook: nbformat.NotebookNode, overrides: Dict[str, object]) -> nbformat.NotebookNode:
    """The notebook with a cell after its parameter cell that sets ``overrides``; unknown names are refused."""
    cells = notebook.cells
    at = next((n for n, cell in enumerate(cells) if PARAMETERS in cell.metadata.get("tags", [])), None)
    if at is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    known = {target.id for node in ast.parse(cells[at].source).body if isinstance(node, ast.Assign)
             for target in node.targets if isinstance(target, ast.Name)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]}: the parameter cell sets {', '.join(sorted(known))}")
    if overrides:
        text = "\n".join(f"{key} = {value!r}" for key, value in overrides.items())
        cells.insert(at + 1, nbformat.v4.new_code_cell(text, metadata={"tags": ["injected-parameters"]}))
    return notebook


def execute(name: str, overrides: Optional[Dict[str, object]] = None, timeout: int = 1800) -> nbformat.NotebookNode:
    """Run notebook ``name`` top to bottom in this folder (relative paths as a reader's Jupyter sees them)."""
    notebook = with_parameters(source(name), overrides or {})
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return notebook


def text_outputs(notebook: nbformat.NotebookNode) -> str:
    """Every printed line of an executed notebook, joined."""
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"notebooks to run (default all: {', '.join(NOTEBOOKS)})")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    parser.add_argument("--no-write", action="store_true", help="run without writing the .ipynb")
    a = parser.parse_args(argv)
    for name in a.names:
        if name not in NOTEBOOKS:
            parser.error(f"unknown notebook {name!r}: choose from {', '.join(NOTEBOOKS)}")
    overrides: Dict[str, object] = {}
    for item in a.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item}: expected NAME=VALUE")
        overrides[key.strip()] = _value(value.strip())
    names: List[str] = a.names or list(NOTEBOOKS)
    for name in names:
        notebook = execute(name, overrides)
        print(f"{name}: ran {sum(c.cell_type == 'code' for c in notebook.cells)} code cells")
        if not a.no_write:
            if overrides:
                print(f"{name}: not written: a committed notebook carries its own parameters' outputs", file=sys.stderr)
                continue
            jupytext.write(notebook, HERE / f"{name}.ipynb")
            print(f"wrote {HERE / f'{name}.ipynb'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
