"""Comparing with the original code's outputs: tiles cut out of a framed figure, tile agreement counted,
per-layer statistics with known answers. The figures are made here; the authors' pictures are never needed."""
import numpy as np
import pytest

from fmi_mx.errors import FmiError
from fmi_mx.original import compare, tiles


def framed_figure(cells, gap=12, margin=30):
    """Tiles on a white page, each in a 1-px black frame, with a dark label strip above each column."""
    rows, columns = len(cells), len(cells[0])
    h, w = cells[0][0].shape[:2]
    page = np.full((margin + rows * (h + 2 + gap), margin + columns * (w + 2 + gap), 3), 255, np.uint8)
    for r in range(rows):
        for c in range(columns):
            y, x = margin + r * (h + 2 + gap), margin + c * (w + 2 + gap)
            page[y:y + h + 2, x:x + w + 2] = 0
            page[y + 1:y + h + 1, x + 1:x + w + 1] = cells[r][c]
            page[5:12, x + 5:x + 20] = 0  # a label: too narrow to be a tile
    return page


def test_a_framed_figure_is_cut_into_its_tiles():
    rng = np.random.default_rng(0)
    cells = [[rng.integers(0, 200, (60, 80, 3), dtype=np.uint8) for _ in range(4)] for _ in range(2)]
    cut = tiles.grid(framed_figure(cells), 2, 4)
    for r in range(2):
        for c in range(4):
            inset = tiles.INSET - 1  # the frame is 1 px
            np.testing.assert_array_equal(cut[r][c], cells[r][c][inset:-inset, inset:-inset])
    with pytest.raises(FmiError, match="found 2 x 4 tiles, expected 5 x 5"):
        tiles.grid(framed_figure(cells), 5, 5)


def test_tiles_agree_when_their_own_filters_texture_is_nearest():
    rng = np.random.default_rng(1)
    colours = {(l, f): rng.uniform(0, 255, 3) for l in compare.FIG3_LAYERS for f in compare.FIG3_FILTERS}
    ours = {key: np.full((8, 8, 3), c) for key, c in colours.items()}
    describe = lambda pictures: [np.stack([p.reshape(-1, 3).mean(axis=0) for p in pictures])]  # noqa: E731
    theirs = [[ours[l, f] + 1.0 for f in compare.FIG3_FILTERS] for l in compare.FIG3_LAYERS]
    matches = compare.tile_matches(theirs, ours, describe)
    assert len(matches) == 25 and all(m.agrees and m.rank == 1 for m in matches)
    swapped = [row[:] for row in theirs]
    swapped[2][0], swapped[2][1] = swapped[2][1], swapped[2][0]  # relu3_2's filters 0 and 1 swapped
    matches = compare.tile_matches(swapped, ours, describe)
    wrong = [(m.layer, m.filter, m.nearest) for m in matches if not m.agrees]
    assert wrong == [("relu3_2", 0, 1), ("relu3_2", 1, 0)]
    assert all(m.rank >= 2 for m in matches if not m.agrees)


def test_layer_statistics_have_their_known_answers():
    y, x = np.mgrid[0:48, 0:64]
    content = np.stack([128 + 100 * np.sin(x / 5.0), 128 + 80 * np.cos(y / 4.0), 60 + 2 * x], -1).astype(np.uint8)
    grey = np.full_like(content, 128)
    noise = np.random.default_rng(2).integers(0, 256, content.shape[:2], dtype=np.uint8)[..., None].repeat(3, -1)
    stats = compare.layer_statistics({"same": [content], "grey": [grey], "noise": [noise]}, content)
    assert stats["same"]["content_ssim"] == pytest.approx(1.0) and stats["same"]["edge_correlation"] == pytest.approx(1.0)
    assert stats["grey"]["colourfulness"] == 0.0 and stats["noise"]["colourfulness"] == 0.0
    assert abs(stats["noise"]["edge_correlation"]) < 0.15 and stats["noise"]["content_ssim"] < 0.2
    rising = {f"l{i}": {name: float(i) for name in compare.STATISTICS} for i in range(5)}
    falling = {f"l{i}": {name: float(-i) for name in compare.STATISTICS} for i in range(5)}
    assert compare.trend_agreement(rising, rising) == {name: pytest.approx(1.0) for name in compare.STATISTICS}
    assert compare.trend_agreement(rising, falling) == {name: pytest.approx(-1.0) for name in compare.STATISTICS}
