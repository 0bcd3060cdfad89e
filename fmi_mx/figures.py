"""Figures with matplotlib (PNG for screens, PDF for papers): the paper's grids, one panel per job,
and the loss curves of an experiment's jobs; plus the table behind them, as CSV rows and Markdown."""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import files, tables
from .records import JobRecord, layer_mean
from .core.image import images


def mark_failed(picture: np.ndarray) -> np.ndarray:
    """A red frame: this panel's optimisation diverged (its last finite image is shown)."""
    out = picture.copy()
    t = max(1, min(out.shape[:2]) // 16)
    out[:t], out[-t:], out[:, :t], out[:, -t:] = (255, 0, 0), (255, 0, 0), (255, 0, 0), (255, 0, 0)
    return out


#: figure -> job labels -> (block, row, column); blocks stack vertically, one per content image, except in
#: figure 5, laid out as the original's: a row per style image, a column per content and loss
LAYOUTS = {
    "fig3": lambda l: (l["content"], l["layer"], f"filter {l['filter']}"),
    "fig4": lambda l: (l["content"], l["layer"], f"draw {l['seed']}"),
    "fig5": lambda l: ("", l["style"],
                       f"{images.short_name(l['content'])}\n{ {'gram': 'Gatys', 'pmci': 'PMCI'}.get(l['mode'], l['mode'])}"),
}
#: figure -> job labels -> (row, cell, member): each cell shows its members side by side, so that pictures
#: meant to be compared touch; rows labelled on the left, or, where the row is "", cells wrapped into a grid
GROUPED = {
    "pairs": lambda l: (l["layer"], f"filter {l['filter']}", images.short_name(l["content"])),
    "features": lambda l: ("", f"filter {l['filter']}", l["column"]),
}
ACROSS = 9  # at most this many pictures across a grid without row labels, so each stays legible on a page
GAP = 2  # px of white between the members of a cell
TABLE_COLUMNS = ("job", "content", "mode", "layer", "filter", "style", "seed", "iterations", "stop_reason",
                 "seconds_per_iteration", "final_loss", "code_error", "energy_share_content",
                 "energy_share_result", "gram_distance", "channel_sum_distance")


def markdown(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """The table as Markdown, for a README or a paper draft (numbers to 4 significant digits, pictures by name)."""
    def cell(row: dict, column: str) -> str:
        return tables.plain(row.get(column)).split(":")[-1].split("/")[-1]

    return tables.markdown(rows, columns, cell)


def table_row(record: JobRecord) -> dict:
    """One CSV row of a job's record: its labels and the numbers behind its panel."""
    share = record.share()
    return {"job": record.job, **{k: record.labels.get(k) for k in ("content", "mode", "layer", "filter", "style", "seed")},
            "iterations": record.iterations, "stop_reason": record.stop_reason,
            "seconds_per_iteration": record.seconds_per_iteration, "final_loss": record.final_loss,
            "code_error": record.mean_code_error(), "energy_share_content": share.get("content"),
            "energy_share_result": share.get("result"), "gram_distance": layer_mean(record.gram_distance),
            "channel_sum_distance": layer_mean(record.channel_sum_distance)}


def _blocks(kind: str, labelled: Sequence[Tuple[dict, Optional[np.ndarray]]], styles: Optional[dict]):
    """[(block, rows, columns, {(row, column): picture})] in the order the jobs come."""
    place = LAYOUTS[kind]
    blocks: dict = {}
    for labels, picture in labelled:
        block, row, col = place(labels)
        rows, cols, cells = blocks.setdefault(block, ([], [], {}))
        rows.append(row) if row not in rows else None
        cols.append(col) if col not in cols else None
        cells[row, col] = picture
    out = []
    for block, (rows, cols, cells) in blocks.items():
        if kind == "fig5":  # the style image itself in front of the results, then by content, each loss in turn
            heads = list(dict.fromkeys(c.split("\n")[0] for c in cols))
            tails = list(dict.fromkeys(c.split("\n")[-1] for c in cols))
            cols = ["style"] + sorted(cols, key=lambda c: (heads.index(c.split("\n")[0]), tails.index(c.split("\n")[-1])))
            cells.update({(row, "style"): styles.get(row) for row in rows})
        out.append((images.short_name(block), rows, cols, cells))
    return out


def draw(kind: str, labelled: Sequence[Tuple[dict, Optional[np.ndarray]]], styles: Optional[dict] = None,
         title: str = "", caption: str = ""):
    """Lay (job labels, picture) out as figure ``kind`` with matplotlib: one block of rows per content
    image, a label on each row and column; a job without a picture leaves its cell empty."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if kind in GROUPED:
        return _draw_grouped(kind, labelled, title, caption)
    blocks = _blocks(kind, labelled, styles)
    n_rows = sum(len(rows) for _, rows, _, _ in blocks)
    n_cols = max(len(cols) for _, _, cols, _ in blocks)
    labels_inch = 1.1  # the row labels' margin
    width = max(labels_inch + 1.4 * n_cols + 0.2, 0.075 * len(title) + 0.6)  # wide enough for the title too
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, 0.9 + 1.45 * n_rows), squeeze=False)
    r = 0
    for block, rows, cols, cells in blocks:
        for i, row in enumerate(rows):
            for j in range(n_cols):
                ax = axes[r, j]
                ax.set_axis_off()
                picture = cells.get((row, cols[j])) if j < len(cols) else None
                if picture is not None:
                    ax.imshow(picture, interpolation="nearest")
                if i == 0 and j < len(cols):
                    ax.set_title(cols[j], fontsize=9)
            axes[r, 0].text(-0.08, 0.5, f"{block}\n{images.short_name(row)}".strip(), transform=axes[r, 0].transAxes, ha="right",
                            va="center", fontsize=9)
            r += 1
    fig.suptitle(title, fontsize=10)
    if caption:
        fig.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=8, color="0.3")
    fig.subplots_adjust(left=labels_inch / width, right=1 - 0.2 / width, top=1 - 0.8 / fig.get_figheight(),
                        bottom=0.35 / fig.get_figheight(), wspace=0.05, hspace=0.25)
    return fig


def strip(pictures: Sequence[Optional[np.ndarray]], height: int) -> np.ndarray:
    """Pictures side by side at one height, ``GAP`` white pixels apart; a missing one is a white square."""
    def fit(picture: Optional[np.ndarray]) -> np.ndarray:
        if picture is None:
            return np.full((height, height, 3), 255, np.uint8)
        width = max(1, round(picture.shape[1] * height / picture.shape[0]))
        return np.clip(np.rint(images.resize(picture, (height, width))), 0, 255).astype(np.uint8)

    gap = np.full((height, GAP, 3), 255, np.uint8)
    return np.hstack([part for picture in pictures for part in (gap, fit(picture))][1:])


def _draw_grouped(kind: str, labelled: Sequence[Tuple[dict, Optional[np.ndarray]]], title: str, caption: str):
    """Cells of pictures side by side (``GROUPED``): a row per row label with the cells' names on top, or a
    grid of named cells; the members' order goes into the caption."""
    import matplotlib.pyplot as plt

    place = GROUPED[kind]
    found = {place(labels): picture for labels, picture in labelled}  # (row, cell, member) -> picture
    rows, cells, members = (list(dict.fromkeys(key[n] for key in found)) for n in range(3))
    height = max((p.shape[0] for p in found.values() if p is not None), default=64)
    strips = {(row, cell): strip([found.get((row, cell, m)) for m in members], height)
              for row in rows for cell in cells if any(found.get((row, cell, m)) is not None for m in members)}
    labelled_rows = rows != [""]
    n_cols = len(cells) if labelled_rows else min(max(1, ACROSS // len(members)), len(cells))
    n_rows = len(rows) if labelled_rows else -(-len(cells) // n_cols)
    aspect = max(s.shape[1] / s.shape[0] for s in strips.values())
    cell_inch = 1.25
    labels_inch = 1.0 if labelled_rows else 0.1
    width = labels_inch + n_cols * (cell_inch * aspect + 0.12) + 0.1
    height_inch = 0.75 + n_rows * (cell_inch + 0.3) + 0.3
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height_inch), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for n, (row, cell) in enumerate((row, cell) for row in rows for cell in cells):
        r, c = divmod(n, n_cols)  # with row labels, n_cols is every cell: a row per label
        ax = axes[r, c]
        if (row, cell) in strips:
            ax.imshow(strips[row, cell], interpolation="nearest")
        if r == 0 or not labelled_rows:
            ax.set_title(cell, fontsize=9)
        if labelled_rows and c == 0:
            ax.text(-0.06, 0.5, row, transform=ax.transAxes, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.text(0.5, 0.005, f"Each cell, left to right: {', '.join(members)}. {caption}".strip(), ha="center",
             va="bottom", fontsize=8, color="0.3")
    fig.subplots_adjust(left=labels_inch / width, right=1 - 0.1 / width, top=1 - 0.65 / height_inch,
                        bottom=0.3 / height_inch, wspace=0.06, hspace=0.3)
    return fig


CAPTIONS = {"fig3": "Filters are numbered from 0, as --filter and the configs number them.",
            "fig4": "Draws are the seeds of the random re-mixing.",
            "fig5": "Per style image: the style, then per content image Gatys' Gram loss and the channel-sum (PMCI) loss.",
            "pairs": "A filter's results from different pictures share its texture.",
            "features": "The visualisation is Lucid's; the FMIs are from the content images."}
FORMATS = ("png", "pdf")


def save(fig, stem: Path, formats: Sequence[str] = FORMATS) -> List[Path]:
    """Write a matplotlib figure as ``stem.png`` / ``stem.pdf`` (atomically); close it."""
    import io

    import matplotlib.pyplot as plt

    paths = []
    for fmt in formats:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=150)
        paths.append(files.write_bytes(Path(f"{stem}.{fmt}"), buffer.getvalue()))
    plt.close(fig)
    return paths


def curves(groups: Sequence[Tuple[str, Sequence[Tuple[str, dict]]]], title: str = ""):
    """Loss (log scale) and relative change against updates, a row per group, a line per job; the
    stop threshold dashed. ``groups``: [(group label, [(line label, sidecar)])]."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(groups), 2, figsize=(9, 0.8 + 2.2 * len(groups)), squeeze=False)
    for (group, jobs), (loss_ax, change_ax) in zip(groups, axes):
        positive = True
        for label, record in jobs:
            history = np.asarray(record.history, dtype=float).reshape(-1, 3)
            loss_ax.plot(history[:, 0], history[:, 1], lw=1, label=label)
            change_ax.plot(history[:, 0], history[:, 2], lw=1)
            positive = positive and bool(np.all(history[:, 1] > 0))
        stop = jobs[0][1].stop_eps if jobs else 0
        change_ax.axhline(stop, ls="--", color="0.3", lw=1, label=f"stop ({stop:g})")
        loss_ax.set_yscale("log" if positive else "symlog")  # a visualisation's loss is its activation, negated
        change_ax.set_yscale("log")
        loss_ax.set_ylabel(f"{group}\nloss")
        change_ax.set_ylabel("relative change")
        if len(jobs) <= 10:
            loss_ax.legend(fontsize=7)
        change_ax.legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("update")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def curve_groups(kind: str, labelled: Sequence[Tuple[dict, JobRecord]]) -> List[Tuple[str, List[Tuple[str, JobRecord]]]]:
    """Jobs grouped as in the figure (a row per block and row; by layer for tables and atlases)."""
    groups: dict = {}
    for labels, record in labelled:
        block, row, col = LAYOUTS[kind](labels) if kind in LAYOUTS else (labels["content"], labels["layer"], labels["filter"])
        groups.setdefault(", ".join(filter(None, (images.short_name(block), images.short_name(str(row))))), []).append((str(col), record))
    return list(groups.items())
