"""The claim's figure (matplotlib): identity accuracy, colourfulness and structural complexity against
depth, one line per weight set with its 95% interval as a band, chance dashed."""
from typing import List

from ..core.network import vgg

PANELS = (("own_accuracy", "identity accuracy\n(own descriptors)"), ("colourfulness", "colourfulness (H&S M)"),
          ("complexity", "complexity (order x variety)"))


def draw(table: List[dict], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = sorted({row["layer"] for row in table}, key=lambda name: vgg.VGG19.layer(name).index)  # a superset of VGG-16's names
    sets = list(dict.fromkeys(row["set"] for row in table))
    panels = PANELS + ((("own_agreement", "agreement of visualisations\nwith their FMI textures"),)
                       if any(row.get("own_agreement") is not None for row in table) else ())
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (key, label) in zip(axes, panels):
        for n, name in enumerate(sets):
            mine = {row["layer"]: row for row in table if row["set"] == name and row.get(key) is not None}
            xs = [i for i, layer in enumerate(layers) if layer in mine]
            if not xs:
                continue
            ys = [mine[layers[i]][key] for i in xs]
            colour = f"C{n}"
            weights = next(row["weights"] for row in table if row["set"] == name)
            ax.plot(xs, ys, "o-", color=colour, label=f"{weights} ({name})" if weights not in name else name)
            ax.fill_between(xs, [mine[layers[i]][f"{key}_low"] for i in xs],
                            [mine[layers[i]][f"{key}_high"] for i in xs], color=colour, alpha=0.18, linewidth=0)
        if key in ("own_accuracy", "own_agreement"):
            chance = {row["layer"]: row["chance_accuracy"] for row in table}
            ax.plot(range(len(layers)), [chance[layer] for layer in layers], "k--", linewidth=1, label="chance")
            ax.set_ylim(0, 1.02)
        ax.set_xticks(range(len(layers)))
        ax.set_xticklabels(layers, rotation=60 if len(layers) > 5 else 0, fontsize=8 if len(layers) > 5 else 10)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=len(labels))  # below the panels, clear of the lines
    fig.suptitle(title + "  (bands: 95% bootstrap intervals over filters)", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


