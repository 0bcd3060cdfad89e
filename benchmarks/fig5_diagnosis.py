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
from typing import Dict, List, Tuple

import numpy as np

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


def plot(rows: List[Dict[str, object]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, loss, measure in ((axes[0], "gram", "gram_style_distance"), (axes[1], "pmci", "channel_sum_style_distance"),
                              (axes[2], None, "content_error")):
        keys = sorted({(r["network"], r["size"], r["denoising"]) for r in rows if r["stop"] == "relative change"})
        for network, size, denoising in keys:
            for one_loss in ((loss,) if loss else ("gram", "pmci")):
                line = sorted((r["beta"], r[measure]) for r in rows if (r["network"], r["size"], r["denoising"]) ==
                              (network, size, denoising) and r["loss"] == one_loss and r["stop"] == "relative change")
                if len(line) < 2 or denoising == "scaled":
                    continue
                ax.plot(*zip(*line), marker="o", linestyle="-" if denoising == "saved" else ":",
                        label=f"{one_loss + ', ' if not loss else ''}{network} {size} px, {denoising}")
        ax.set_xscale("log")
        ax.set_xlabel("beta (style weight)")
        ax.set_title({"gram_style_distance": "Gatys (Gram): Gram style distance",
                      "channel_sum_style_distance": "PMCI: channel-sum style distance",
                      "content_error": "content error (relu2_2)"}[measure], fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="network:size, comma-separated")
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--no-run", action="store_true", help="measure what is finished, run nothing")
    a = parser.parse_args(argv)
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
    docs = REPO / "docs"
    (docs / "fig5-diagnosis.md").write_text(markdown(rows, reference.title))
    plot(rows, docs / "fig5-diagnosis.png")
    print(markdown(rows, reference.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
