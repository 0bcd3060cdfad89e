"""fmi_mx's figures 3 and 4 beside the original code's own outputs, measured.

Figure 3: for each of the original's 25 tiles (layer L, filter f, from golden_gate), fmi_mx's FMIs of
L's five filters from the same picture are ranked by the atlas's texture distance (Gram descriptors of
a reference network); the tile agrees when filter f comes first. Chance is 5 of 25.
Figure 4: the random draws differ, so tiles cannot be matched; per layer, the statistics of the
original's two draws and of ours: colourfulness, and how much of the content's structure is left
(SSIM of the luminance, and the correlation of edge magnitudes, each against the content picture).
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from ..atlas.score import cross_distances
from ..claim import measures
from ..core.image import images
from ..errors import FmiError
from . import tiles

FIG3_FILE = "feature map of the golden gate.png"
FIG3_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
FIG3_FILTERS = (0, 1, 2, 3, 4)
FIG4_FILE = "random.png"
FIG4_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
FIG4_DRAWS = 2
CONTENT = "golden_gate"
Descriptors = Callable[[List[np.ndarray]], List[np.ndarray]]


@dataclass(frozen=True)
class TileMatch:
    """One of the original's figure-3 tiles and where fmi_mx's FMIs of its layer rank its filter."""

    layer: str
    filter: int
    nearest: int  # the filter whose FMI is closest to the tile
    rank: int  # 1 + how many other filters' FMIs are closer than the tile's own filter's

    @property
    def agrees(self) -> bool:
        return self.nearest == self.filter


def tile_matches(theirs: Sequence[Sequence[np.ndarray]], ours: Dict[Tuple[str, int], np.ndarray],
                 describe: Descriptors, layers: Sequence[str] = FIG3_LAYERS,
                 filters: Sequence[int] = FIG3_FILTERS) -> List[TileMatch]:
    """Each tile ``theirs[row][column]`` (layer ``layers[row]``, filter ``filters[column]``) against our
    FMIs ``ours[layer, filter]`` of its layer, by texture distance."""
    out = []
    for layer, row in zip(layers, theirs):
        d = cross_distances(describe(list(row)), describe([ours[layer, f] for f in filters]))
        for column, f in enumerate(filters):
            out.append(TileMatch(layer, f, filters[int(np.argmin(d[column]))],
                                 1 + int(np.count_nonzero(d[column] < d[column, column]))))
    return out


def content_ssim(picture: np.ndarray, content: np.ndarray) -> float:
    """SSIM of the luminance of ``picture`` and of ``content`` (resized to it)."""
    return measures.content_ssim(picture, images.resize(content, picture.shape[:2]))


def edge_correlation(picture: np.ndarray, content: np.ndarray) -> float:
    """Correlation of the edge magnitudes of ``picture`` and of ``content`` (resized to it)."""
    return measures.edge_correlation(picture, images.resize(content, picture.shape[:2]))


STATISTICS: Dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "colourfulness": lambda picture, content: measures.colourfulness(picture),
    "content_ssim": content_ssim,
    "edge_correlation": edge_correlation,
}


def layer_statistics(pictures: Dict[str, Sequence[np.ndarray]], content: np.ndarray) -> Dict[str, Dict[str, float]]:
    """Per layer, the mean of each statistic over its draws."""
    return {layer: {name: float(np.mean([f(p, content) for p in draws])) for name, f in STATISTICS.items()}
            for layer, draws in pictures.items()}


def trend_agreement(theirs: Dict[str, Dict[str, float]], ours: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """Per statistic, Spearman's correlation across layers of ours against the original's: 1 when the
    statistic rises and falls with depth the same way in both."""
    from scipy.stats import spearmanr

    layers = [layer for layer in theirs if layer in ours]
    return {name: float(spearmanr([theirs[l][name] for l in layers], [ours[l][name] for l in layers])[0])
            for name in STATISTICS}


def read_figure(folder: Path, name: str, rows: int, columns: int) -> List[List[np.ndarray]]:
    """The tiles of one of the original's output figures in ``folder``."""
    path = Path(folder) / name
    if not path.is_file():
        raise FmiError(f"{path} not found: give the output/ folder of the original repository "
                       "(xzqjack/FeatureMapInversion)")
    return tiles.grid(images.read(str(path)), rows, columns, str(path))
