"""Labelled picture grids: one panel per cell, row labels on the left, column labels on top."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from ..core import images

_FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_PANEL = 96


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.45) -> None:
    cv2.putText(canvas, text, (x, y), _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


def grid(cells: Sequence[Sequence[Optional[np.ndarray]]], row_labels: Sequence[str],
         col_labels: Sequence[str], title: str = "", gap: int = 4) -> np.ndarray:
    """Assemble RGB panels into one labelled image; a missing panel (None) stays white."""
    first = next(c for row in cells for c in row if c is not None)
    h, w = first.shape[:2]
    if min(h, w) < MIN_PANEL:  # small test panels are enlarged so that labels fit
        h, w = round(h * MIN_PANEL / min(h, w)), round(w * MIN_PANEL / min(h, w))
    left = 12 + max(cv2.getTextSize(label, _FONT, 0.45, 1)[0][0] for label in row_labels)
    top = 22 + (22 if title else 0)
    n_cols = max(len(row) for row in cells)
    width = max(left + n_cols * (w + gap), 12 + cv2.getTextSize(title, _FONT, 0.5, 1)[0][0])
    canvas = np.full((top + len(cells) * (h + gap), width, 3), 255, np.uint8)
    if title:
        _text(canvas, title, 6, 16, 0.5)
    for j, label in enumerate(col_labels):
        _text(canvas, label, left + j * (w + gap) + 2, top - 6)
    for i, row in enumerate(cells):
        y = top + i * (h + gap)
        _text(canvas, row_labels[i], 6, y + h // 2)
        for j, cell in enumerate(row):
            if cell is not None:
                x = left + j * (w + gap)
                canvas[y:y + h, x:x + w] = images.resize(cell, (h, w)).astype(np.uint8)
    return canvas


def mark_failed(picture: np.ndarray) -> np.ndarray:
    """A red frame: this panel's optimisation diverged (its last finite image is shown)."""
    out = picture.copy()
    t = max(1, min(out.shape[:2]) // 16)
    out[:t], out[-t:], out[:, :t], out[:, -t:] = (255, 0, 0), (255, 0, 0), (255, 0, 0), (255, 0, 0)
    return out


#: figure -> job labels -> (block, row, column); blocks stack vertically, one per content image
LAYOUTS = {
    "fig3": lambda l: (l["content"], l["layer"], f"filter {l['filter'] + 1}"),
    "fig4": lambda l: (l["content"], l["layer"], f"draw {l['seed']}"),
    "fig5": lambda l: (l["content"], l["style"], {"gram": "Gatys", "pmci": "PMCI"}.get(l["mode"], l["mode"])),
}
TABLE_COLUMNS = ("job", "content", "mode", "layer", "filter", "style", "seed", "iterations", "stop_reason",
                 "seconds_per_iteration", "final_loss", "code_error", "energy_share_content",
                 "energy_share_result", "gram_distance", "channel_sum_distance")


def table_row(record: dict) -> dict:
    """One CSV row of a job's sidecar: its labels and the numbers behind its panel."""
    labels = record["labels"]
    share = next(iter(record.get("filter_energy_share", {}).values()), {})
    mean = lambda d: sum(d.values()) / len(d) if d else None  # noqa: E731
    return {"job": record["job"], **{k: labels.get(k) for k in ("content", "mode", "layer", "filter", "style", "seed")},
            "iterations": record["iterations"], "stop_reason": record["stop_reason"],
            "seconds_per_iteration": record["seconds_per_iteration"], "final_loss": record["final_loss"],
            "code_error": mean(record["code_error"]), "energy_share_content": share.get("content"),
            "energy_share_result": share.get("result"), "gram_distance": mean(record.get("gram_distance", {})),
            "channel_sum_distance": mean(record.get("channel_sum_distance", {}))}


def assemble(kind: str, labelled: Sequence[Tuple[dict, Optional[np.ndarray]]],
             styles: Optional[dict] = None, title: str = "") -> np.ndarray:
    """Lay (job labels, picture) out as figure ``kind``; a job without a picture leaves a blank cell."""
    place = LAYOUTS[kind]
    blocks: dict = {}
    for labels, picture in labelled:
        block, row, col = place(labels)
        rows, cols, cells = blocks.setdefault(block, ([], [], {}))
        rows.append(row) if row not in rows else None
        cols.append(col) if col not in cols else None
        cells[row, col] = picture
    pictures = []
    for block, (rows, cols, cells) in blocks.items():
        if kind == "fig5":  # the style image itself in front of the results
            cols = ["style"] + cols
            cells.update({(row, "style"): styles.get(row) for row in rows})
        name = block.split(":")[-1].split("/")[-1]
        row_labels = [r.split(":")[-1].split("/")[-1] for r in rows]
        pictures.append(grid([[cells.get((r, c)) for c in cols] for r in rows], row_labels, cols,
                             title=f"{title}  content: {name}".strip()))
    width = max(p.shape[1] for p in pictures)
    return np.vstack([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=255) for p in pictures])
