"""Cutting a figure of framed tiles on a white page into its tiles, pure numpy: a tile is a band of
columns and a band of rows where most pixels are ink (not white)."""
from typing import List, Sequence, Tuple

import numpy as np

from ..errors import FmiError

INK = 235  # a pixel whose darkest channel is below this is not page white
MIN_TILE = 40  # px: narrower bands are labels and frames, not tiles
INSET = 3  # px cut off each side, so the frame stays out of the tile


def bands(profile: Sequence[float], threshold: float = 0.5, min_width: int = MIN_TILE) -> List[Tuple[int, int]]:
    """(start, stop) of each run of ``profile`` above ``threshold`` that is at least ``min_width`` long."""
    on = np.concatenate([[False], np.asarray(profile) > threshold, [False]])
    edges = np.flatnonzero(on[1:] != on[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_width]


def grid(picture: np.ndarray, rows: int, columns: int, name: str = "the figure") -> List[List[np.ndarray]]:
    """The ``rows`` x ``columns`` tiles of an RGB figure, row by row, each without its frame."""
    ink = np.asarray(picture)[..., :3].min(axis=2) < INK
    found_rows, found_columns = bands(ink.mean(axis=1)), bands(ink.mean(axis=0))
    if (len(found_rows), len(found_columns)) != (rows, columns):
        raise FmiError(f"{name}: found {len(found_rows)} x {len(found_columns)} tiles, expected {rows} x {columns}; "
                       "is it the original's unmodified output?")
    return [[np.ascontiguousarray(picture[r0 + INSET:r1 - INSET, c0 + INSET:c1 - INSET, :3])
             for c0, c1 in found_columns] for r0, r1 in found_rows]
