"""Texture descriptors of pictures through the network (MXNet): D_l = G_l / (C_l M_l) at the
descriptor layers, for the score in ``score.py``."""
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .. import signals
from ..core.image import images
from ..core.run.engine import Runner
from .score import DESCRIPTOR_LAYERS, descriptor

BATCH = 16


def descriptors(runner: Runner, pictures: Sequence[np.ndarray], pooling: str = "avg",
                layers: Sequence[str] = DESCRIPTOR_LAYERS, statistic=descriptor) -> List[np.ndarray]:
    """One (N, d_l) matrix per layer (the descriptor layers unless given) for N RGB uint8 pictures (any
    sizes; same-sized ones share a forward pass): each code's ``statistic``, Gram descriptors unless given."""
    return statistics(runner, pictures, layers, {"": statistic}, pooling)[""]


def statistics(runner: Runner, pictures: Sequence[np.ndarray], layers: Sequence[str],
               named: Dict[str, Callable[[np.ndarray], np.ndarray]], pooling: str = "avg") -> Dict[str, List[np.ndarray]]:
    """Several statistics of the same codes, from one forward pass per batch of same-sized pictures: by name,
    one (N, d_l) matrix per layer."""
    by_shape: Dict[tuple, List[int]] = {}
    for n, picture in enumerate(pictures):
        by_shape.setdefault(picture.shape, []).append(n)
    rows: Dict[str, Dict[int, List[np.ndarray]]] = {name: {} for name in named}
    for shape, members in by_shape.items():
        for start in range(0, len(members), BATCH):
            signals.check()
            chunk = members[start:start + BATCH]
            x = np.concatenate([images.preprocess(pictures[n], runner.weights.mean_rgb) for n in chunk])
            codes = runner.graphs.encoder(tuple(layers), x.shape, pooling).codes(x)
            for m, n in enumerate(chunk):
                for name, statistic in named.items():
                    rows[name][n] = [statistic(codes[layer][m]) for layer in layers]
    return {name: [np.stack([found[n][k] for n in range(len(pictures))]) for k in range(len(layers))]
            for name, found in rows.items()}


def layer_score(runner: Runner, grid: Sequence[Sequence[np.ndarray]], filters: Sequence[int], pooling: str = "avg",
                valid: Optional[np.ndarray] = None):
    """The score of one layer from its pictures ``grid[k][i]`` (filter k, content image i); ``valid[k, i]``
    False leaves a result out (see ``score.score``)."""
    from .score import by_filter_and_image, distances, score

    flat = [picture for row in grid for picture in row]
    d = by_filter_and_image(distances(descriptors(runner, flat, pooling)), len(grid), len(grid[0]))
    return score(d, filters, valid=valid)


def layer_agreement(runner: Runner, grid: Sequence[Sequence[np.ndarray]], visuals: Sequence[np.ndarray],
                    filters: Sequence[int], pooling: str = "avg", valid: Optional[np.ndarray] = None):
    """The agreement score of one layer: each filter's visualisation ``visuals[k]`` against the FMI results
    ``grid[k'][i]`` of every filter (see ``score.agreement``)."""
    from .score import agreement, cross_distances

    flat = [picture for row in grid for picture in row]
    fmi, vis = descriptors(runner, flat, pooling), descriptors(runner, list(visuals), pooling)
    d = cross_distances(vis, fmi).reshape(len(visuals), len(grid), len(grid[0]))
    return agreement(d, filters, valid=valid)
