"""Why figure 5 shows little style: style and content measured against size, denoising, the stop rule,
beta and the network, for Gatys' Gram loss and PMCI's channel sums.

Runs ``experiments/fig5-diagnosis.yaml`` (tubingen, Starry Night) at each (network, size) of ``CASES``
(resumable: finished jobs are kept), adds figure 5's own 512-px tubingen x Starry Night results when
``runs/fig5`` has them, and judges every result three ways: as saved (denoised at the original's 0.2),
raw (no denoising), and denoised with the weight scaled to the size (0.2 x size / 512). Style and content
are measured on the saved pictures by ``fmi_mx.atlas.style`` with the paper's trained VGG-19. Writes
``docs/fig5-diagnosis.md`` and ``docs/fig5-diagnosis.png`` (style against beta).
Run: ``python benchmarks/fig5_diagnosis.py [--cases vgg19:128,vgg19:256,vgg16:128] [--runs runs]``.
"""
import argparse
import subprocess
import sys
from pathlib import Path
from typing import Dict, List


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIG = REPO / "experiments" / "fig5-diagnosis.yaml"
CASES = ("vgg19:128", "vgg19:256", "vgg16:128")
REFERENCE_SIZE = 512  # the original's size: there the saved picture's denoising weight is 0.2
DENOISING = ("saved", "raw", "scaled")
COMMON_SIZE = 128  # px: every result is also judged shrunk to this, the scale at which a figure's panel is seen


def overrides(case: str) -> List[str]:
    network, size = case.split(":")
    out = [f"size={size}"]
    return out + ([f"network={network}", f"weights=models/{network}.params"] if network != "vgg19" else [])


def run_case(case: str, runs: Path) -> None:
    argv = [sys.executable, "-m", "fmi_mx.cli", "run", str(CONFIG), "--runs", str(runs)]
    for override in overrides(case):
        argv += ["--set", override]
    subprocess.run(argv, cwd=REPO, check=True)


def results(config: Path, sets: List[str], runs: Path, keep=lambda labels: True):
    """(record, saved picture, raw picture) of every finished job of a config."""
    from fmi_mx.core.image import images
    from fmi_mx.sweep import config as config_module, experiment

    exp = config_module.load(config, sets)
    out = []
    for labels, path, record in experiment.finished_results(exp, runs):
        raw = path.with_name("raw.png")
        if keep(labels) and raw.is_file():
            out.append((record, images.read(str(path)), images.read(str(raw))))
    return out


def rows_for(judge, found, case: str) -> List[Dict[str, object]]:
    from fmi_mx.core.image import images

    rows = []
    for record, saved, raw in found:
        task = record["task"]
        size = task["size"]
        content, style = images.read(task["content"]), images.read(task["style"])
        scaled = images.denoise(raw, task["remove_noise"] * size / REFERENCE_SIZE)
        stop = "relative change" if task["optimise"]["stop_eps"] > 0 else f"none ({task['optimise']['max_iterations']})"
        for denoising, picture in zip(DENOISING, (saved, raw, scaled)):
            common = judge.measure(images.resize_long_edge(picture, COMMON_SIZE), content, style)
            rows.append({"network": record["weights"]["network"], "size": size, "loss": task["mode"],
                         "beta": task["style_weight"], "stop": stop, "iterations": record["iterations"],
                         "denoising": denoising, **judge.measure(picture, content, style),
                         **{f"{k}_at_{COMMON_SIZE}": v for k, v in common.items() if k != "content_error"}})
    return rows


def markdown(rows: List[Dict[str, object]], reference: str) -> str:
    columns = ("network", "size", "loss", "beta", "stop", "iterations", "denoising", "gram_style_distance",
               "channel_sum_style_distance", "content_error", f"gram_style_distance_at_{COMMON_SIZE}",
               f"channel_sum_style_distance_at_{COMMON_SIZE}")
    head = ("# Figure 5, diagnosed\n\ntubingen in the style of Starry Night, alpha 10. Style distance: the result's "
            "texture distance to the style relative to the content picture's own (1: no style taken, 0: the "
            f"style's texture exactly), by Gram matrices and by channel sums at relu1_1..relu5_1 of {reference}; "
            "content error: the relative relu2_2 code error against the content picture. Denoising: saved (Chambolle "
            "TV, weight 0.2 as the original), raw (none), scaled (0.2 x size / 512). The last two columns judge the "
            f"result shrunk to {COMMON_SIZE} px, the scale at which a figure's panel is seen, so that sizes compare."
            "\n\n")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in sorted(rows, key=lambda r: (r["network"], r["size"], r["loss"], r["beta"], r["stop"],
                                           DENOISING.index(r["denoising"]))):
        lines.append("| " + " | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) and c != "beta" else
                                       f"{row[c]:g}" if c == "beta" else str(row[c]) for c in columns) + " |")
    return head + "\n".join(lines) + "\n"


def read_markdown(path: Path) -> List[Dict[str, object]]:
    """The rows of a table this script wrote (``docs/fig5-diagnosis.md``), numbers as numbers: the figure
    can be drawn again from the committed table without its runs."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    columns = [c.strip() for c in lines[0].strip("|").split("|")]
    return [{column: _number(cell.strip()) for column, cell in zip(columns, line.strip("|").split("|"))}
            for line in lines[2:]]


def _number(cell: str) -> object:
    """A table cell as an int or a float where it reads as one, else as its text."""
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def plot(rows: List[Dict[str, object]], path: Path) -> None:
    """Style distance of each loss, and content error, against beta: colour the network and size, solid the
    saved (denoised) picture, dotted the raw one, circles Gram and squares PMCI; one legend below."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    kept = [r for r in rows if r["stop"] == "relative change" and r["denoising"] in ("saved", "raw")]
    cases = sorted({(r["network"], r["size"]) for r in kept})
    colour = {case: f"C{n}" for n, case in enumerate(cases)}
    marker = {"gram": "o", "pmci": "s"}
    style = {"saved": "-", "raw": ":"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    for ax, losses, measure, title in (
            (axes[0], ("gram",), "gram_style_distance", "Gatys (Gram): Gram style distance"),
            (axes[1], ("pmci",), "channel_sum_style_distance", "PMCI: channel-sum style distance"),
            (axes[2], ("gram", "pmci"), "content_error", "content error at relu2_2 (both losses)")):
        for case in cases:
            for denoising in style:
                for loss in losses:
                    line = sorted((r["beta"], r[measure]) for r in kept if (r["network"], r["size"]) == case
                                  and r["denoising"] == denoising and r["loss"] == loss)
                    if line:  # figure 5's own 512 px results: beta 1 alone, a point
                        ax.plot(*zip(*line), marker=marker[loss], linestyle=style[denoising], color=colour[case])
        ax.set_xscale("log")
        ax.set_xlabel("beta (style weight)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("style distance (1: none taken, 0: the style's)")
    handles = [Line2D([], [], color=colour[c], linewidth=2, label=f"{c[0].upper().replace('VGG', 'VGG-')} {c[1]} px")
               for c in cases]
    handles += [Line2D([], [], color="0.3", linestyle=style[d], label=f"{d} picture") for d in style]
    handles += [Line2D([], [], color="0.3", marker=marker[m], linestyle="none", label="Gatys" if m == "gram" else "PMCI")
                for m in marker]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="network:size, comma-separated")
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--no-run", action="store_true", help="measure what is finished, run nothing")
    parser.add_argument("--replot", action="store_true", help="draw docs/fig5-diagnosis.png again from its table")
    a = parser.parse_args(argv)
    docs = REPO / "docs"
    if a.replot:
        plot(read_markdown(docs / "fig5-diagnosis.md"), docs / "fig5-diagnosis.png")
        return 0
    from fmi_mx.atlas.style import StyleJudge, reference_weights

    runs = Path(a.runs)
    reference = reference_weights()
    if reference is None:
        raise SystemExit("needs the trained VGG-19 (fmi-mx weights fetch) or VGG-16 to judge style")
    judge = StyleJudge(reference)
    rows = []
    for case in a.cases.split(","):
        if not a.no_run:
            run_case(case, runs)
        rows += rows_for(judge, results(CONFIG, overrides(case), runs), case)
    fig5 = results(REPO / "experiments" / "fig5.yaml", [], runs,
                   keep=lambda l: "tubingen" in l["content"] and "starry_night" in l["style"])
    rows += rows_for(judge, fig5, "vgg19:512")
    (docs / "fig5-diagnosis.md").write_text(markdown(rows, reference.title))
    plot(rows, docs / "fig5-diagnosis.png")
    print(markdown(rows, reference.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
