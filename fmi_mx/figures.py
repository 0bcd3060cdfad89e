"""Labelled picture grids: one panel per cell, row labels on the left, column labels on top."""
from typing import Optional, Sequence

import cv2
import numpy as np

from . import images

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.45) -> None:
    cv2.putText(canvas, text, (x, y), _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


def grid(cells: Sequence[Sequence[Optional[np.ndarray]]], row_labels: Sequence[str],
         col_labels: Sequence[str], title: str = "", gap: int = 4) -> np.ndarray:
    """Assemble RGB panels into one labelled image; a missing panel (None) stays white."""
    first = next(c for row in cells for c in row if c is not None)
    h, w = first.shape[:2]
    left = 12 + max(cv2.getTextSize(label, _FONT, 0.45, 1)[0][0] for label in row_labels)
    top = 22 + (22 if title else 0)
    n_cols = max(len(row) for row in cells)
    canvas = np.full((top + len(cells) * (h + gap), left + n_cols * (w + gap), 3), 255, np.uint8)
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
