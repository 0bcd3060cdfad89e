"""``fmi-mx original FOLDER``: fmi_mx's figures 3 and 4 measured against the original's outputs in
FOLDER, written to ``agreement.json`` and ``agreement.md``, with a side-by-side picture of figure 3 made
from the user's copy (for looking at, not for committing: the tiles are the authors')."""
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .. import files
from ..core.image import images
from ..errors import FmiError
from . import compare


def ours_by(results, keys: Sequence[str], content: str = compare.CONTENT) -> Dict[tuple, np.ndarray]:
    """Our finished pictures of ``content``, keyed by the labels ``keys``."""
    return {tuple(labels[k] for k in keys) if len(keys) > 1 else labels[keys[0]]: images.read(str(path))
            for labels, path, _ in results if images.short_name(labels["content"]) == content}


def side_by_side(theirs: List[List[np.ndarray]], ours: Dict[tuple, np.ndarray], matches, title: str):
    """Figure 3, each of the original's tiles above ours, with the filter ours ranks nearest."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, columns = len(compare.FIG3_LAYERS), len(compare.FIG3_FILTERS)
    fig, axes = plt.subplots(2 * rows, columns, figsize=(1.6 * columns + 1.0, 2.4 * rows + 0.8), squeeze=False)
    by_tile = {(m.layer, m.filter): m for m in matches}
    for r, layer in enumerate(compare.FIG3_LAYERS):
        for c, f in enumerate(compare.FIG3_FILTERS):
            for half, picture, what in ((0, theirs[r][c], "original"), (1, ours[layer, f], "fmi_mx")):
                ax = axes[2 * r + half, c]
                ax.imshow(picture)
                ax.set_axis_off()
                match = by_tile[layer, f]
                label = f"{layer} f{f}: {what}" if half == 0 else \
                    f"fmi_mx (nearest: f{match.nearest}{'' if match.agrees else ' ✗'})"
                ax.set_title(label, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def run(folder: Path, fig3, fig4, runs: Path, out: Path, reference, log: Callable[[str], None] = print,
        device: str = "cpu") -> dict:
    """Measure and write the agreement of our figures 3 (``fig3``, an Experiment) and 4 (``fig4``, or None)
    with the original's outputs in ``folder``; ``reference``: the weights whose descriptors judge."""
    from ..atlas.texture import descriptors
    from ..core.run.engine import Runner
    from .. import figures
    from ..sweep import experiment

    theirs3 = compare.read_figure(folder, compare.FIG3_FILE, len(compare.FIG3_LAYERS), len(compare.FIG3_FILTERS))
    ours3 = ours_by(experiment.finished_results(fig3, runs), ("layer", "filter"))
    missing = [(l, f) for l in compare.FIG3_LAYERS for f in compare.FIG3_FILTERS if (l, f) not in ours3]
    if missing:
        raise FmiError(f"figure 3 of {fig3.name} is not finished for golden_gate ({len(missing)} of 25 FMIs missing, "
                       f"e.g. {missing[0][0]} filter {missing[0][1]}): run `fmi-mx run` on its config first")
    runner = Runner(reference, device)
    matches = compare.tile_matches(theirs3, ours3, lambda pictures: descriptors(runner, pictures))
    agreed = sum(m.agrees for m in matches)
    report = {"reference_descriptor": reference.title, "ours": {"figure 3": fig3.name, "size": fig3.size},
              "figure 3": {"agreeing_tiles": agreed, "tiles": len(matches), "chance": len(matches) // 5,
                           "tiles_by_layer": {l: sum(m.agrees for m in matches if m.layer == l)
                                              for l in compare.FIG3_LAYERS},
                           "matches": [vars(m) | {"agrees": m.agrees} for m in matches]}}
    log(f"figure 3: {agreed} of {len(matches)} of the original's tiles have their own filter's FMI nearest "
        f"(chance: {len(matches) // 5})")
    if fig4 is not None:
        report["figure 4"] = _figure4(folder, fig4, runs, log)
        report["ours"]["figure 4"] = fig4.name
    out = Path(out)
    files.write_json(out / "agreement.json", report)
    files.write_bytes(out / "agreement.md", markdown(report).encode())
    figures.save(side_by_side(theirs3, ours3, matches, f"figure 3: the original's output above fmi_mx's "
                                                         f"({fig3.name}, {fig3.size} px)"), out / "fig3-side-by-side")
    log(f"{out}/agreement.md, agreement.json, fig3-side-by-side.png (the original's tiles: do not commit it)")
    return report


def _figure4(folder: Path, fig4, runs: Path, log) -> dict:
    from ..sweep import experiment

    theirs = compare.read_figure(folder, compare.FIG4_FILE, compare.FIG4_DRAWS, len(compare.FIG4_LAYERS))
    results = experiment.finished_results(fig4, runs)
    ours: Dict[str, List[np.ndarray]] = {}
    content: Optional[np.ndarray] = None
    for labels, path, _ in results:
        if images.short_name(labels["content"]) == compare.CONTENT:
            ours.setdefault(labels["layer"], []).append(images.read(str(path)))
            content = images.read(labels["content"]) if content is None else content
    if content is None or set(ours) != set(compare.FIG4_LAYERS):
        raise FmiError(f"figure 4 of {fig4.name} is not finished for golden_gate: run `fmi-mx run` on its config first")
    theirs_by_layer = {layer: [theirs[d][c] for d in range(compare.FIG4_DRAWS)]
                       for c, layer in enumerate(compare.FIG4_LAYERS)}
    a, b = compare.layer_statistics(theirs_by_layer, content), compare.layer_statistics(ours, content)
    trends = compare.trend_agreement(a, b)
    log("figure 4: rank correlation across layers, ours against the original's: "
        + ", ".join(f"{k} {v:.2f}" for k, v in trends.items()))
    return {"original": a, "ours": b, "spearman_across_layers": trends}


def markdown(report: dict) -> str:
    """The agreement as Markdown tables (our numbers and the original's, no pictures)."""
    f3 = report["figure 3"]
    lines = [f"Texture descriptors of {report['reference_descriptor']}; ours: {report['ours']['figure 3']} at "
             f"{report['ours']['size']} px.", "",
             f"**Figure 3:** {f3['agreeing_tiles']} of {f3['tiles']} of the original's tiles have their own "
             f"filter's FMI nearest among fmi_mx's five of that layer (chance {f3['chance']}).", "",
             "| layer | tiles agreeing (of 5) | nearest filter for tiles 0..4 |", "|---|---|---|"]
    for layer, count in f3["tiles_by_layer"].items():
        nearest = ", ".join(str(m["nearest"]) for m in f3["matches"] if m["layer"] == layer)
        lines.append(f"| {layer} | {count} | {nearest} |")
    if "figure 4" in report:
        f4 = report["figure 4"]
        names = list(compare.STATISTICS)
        lines += ["", "**Figure 4** (golden gate, mean of two draws per layer; original / fmi_mx):", "",
                  "| layer | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for layer in f4["original"]:
            cells = [f"{f4['original'][layer][n]:.2f} / {f4['ours'][layer][n]:.2f}" for n in names]
            lines.append(f"| {layer} | " + " | ".join(cells) + " |")
        lines.append("| rank correlation across layers | " + " | ".join(
            f"{f4['spearman_across_layers'][n]:.2f}" for n in names) + " |")
    return "\n".join(lines) + "\n"
