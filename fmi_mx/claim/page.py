"""The claim's page, ``runs/<claim>/claim.html``: the figure and the table, each row linking to its
layer's page in that weight set's atlas (``<set>/atlas/<layer>.html``)."""
from pathlib import Path
from typing import Dict, List, Optional

from .._version import __version__
from ..atlas import site
from ..core.network.weights import Weights


def render(root: Path, name: str, rows: List[dict], differences: List[dict], reference: Optional[str],
           weights: Dict[str, Weights]) -> Path:
    text = "; ".join(f"{set_name}: {site.weights_text(w)}" for set_name, w in weights.items())
    atlas = {"name": name, "version": __version__, "weights_text": text, "home": "claim.html",
             "kind": "trained against untrained"}
    page = site.environment().get_template("claim.html").render(
        atlas=atlas, rows=rows, differences=differences, reference=reference, ci=ci_text, up="",
        agreement=any(row.get("own_agreement") is not None for row in rows))
    root.mkdir(parents=True, exist_ok=True)
    site.copy_static(root)
    (root / "claim.html").write_text(page)
    return root / "claim.html"


def ci_text(row: dict, key: str, digits: int = 2) -> str:
    """``0.91 [0.85, 0.96]``: a value with its interval, or a dash where there is none."""
    if row.get(key) is None:
        return "—"
    return f"{row[key]:.{digits}f} [{row[key + '_low']:.{digits}f}, {row[key + '_high']:.{digits}f}]"
