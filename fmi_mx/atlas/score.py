"""The texture-identity score, pure numpy: is filter k's texture the same whatever the content image?

R(k, i) is the optimised image for filter k and content image i; D_l(R) = G_l(R) / (C_l M_l) is Gatys'
texture representation at relu1_1, relu2_1, relu3_1 (``DESCRIPTOR_LAYERS``). For two images
    d(R, R') = sum_l ||D_l(R) - D_l(R')||_F / (||D_l(R)||_F + ||D_l(R')||_F).
For filter k and each ordered pair of different content images (i, j), the rank of the right match is
    r = 1 + #{k' != k : d(R(k,i), R(k',j)) < d(R(k,i), R(k,j))}.
Per filter: identity accuracy (share of pairs with r = 1) and mean reciprocal rank; per layer their
means beside chance (1/|K| and H_|K|/|K|), a label-shuffled control, and the ratio of the mean
between-filter to the mean within-filter distance.

A filter that does not fire on a content image (its channel is zero there) has nothing to invert: its
result is the flat grey the weight decay leaves, and two such greys would "match" each other. Such
filter-image results are marked invalid: a pair (i, j) counts for filter k only when both of its
results are valid (they stay candidates for other filters), a filter with no valid pair is left out of
the layer's means, and the summary says how many results were left out (``dead_results``).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..core.objectives.losses import gram_matrix

DESCRIPTOR_LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def descriptor(code: np.ndarray) -> np.ndarray:
    """D = F F^T / (C M) of one code (C, H, W), flattened (float64)."""
    c, m = code.shape[0], code[0].size
    return (gram_matrix(code) / (c * m)).ravel()


def distances(descriptors: Sequence[np.ndarray]) -> np.ndarray:
    """d between every two of N images, from one (N, d_l) matrix per descriptor layer: (N, N)."""
    total = cross_distances(descriptors, descriptors)
    np.fill_diagonal(total, 0.0)
    return total


def cross_distances(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """d between each of N images and each of M others, from their (N, d_l) and (M, d_l) descriptors: (N, M)."""
    from scipy.spatial.distance import cdist

    total = 0.0
    for x, y in zip(a, b):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        norms = np.linalg.norm(x, axis=1)[:, None] + np.linalg.norm(y, axis=1)[None, :]
        total = total + cdist(x, y) / np.maximum(norms, 1e-30)
    return total


def ranks(d: np.ndarray, valid: Optional[np.ndarray] = None) -> np.ndarray:
    """r[k, i, j] (NaN where i == j or where filter k's result on i or j is not valid) from a distance
    array d[k, i, k', j] over K filters and I images."""
    n_filters, n_images = d.shape[:2]
    valid = np.ones((n_filters, n_images), bool) if valid is None else valid
    own = np.arange(n_filters)
    right = d[own, :, own, :]  # (k, i, j): the distance to the same filter's result on j
    out = 1.0 + np.count_nonzero(d < right[:, :, None, :], axis=2)  # k' = k is never below itself
    scored = valid[:, :, None] & valid[:, None, :] & ~np.eye(n_images, dtype=bool)[None]
    return np.where(scored, out, np.nan)


@dataclass(frozen=True)
class LayerScore:
    """A layer's score: per filter, and the summary with chance and a shuffled-label control."""

    filters: List[int]
    accuracy: np.ndarray  # per filter
    mrr: np.ndarray  # per filter
    ranks: np.ndarray  # (K, I, I), NaN on the diagonal
    summary: Dict[str, float]
    neighbours: np.ndarray = None  # (K, n): each filter's nearest other filters, by place in ``filters``
    neighbour_distances: np.ndarray = None  # (K, n): their mean texture distances


NEIGHBOURS = 6  # a filter page's nearest filters


def filter_distances(d: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """D[k, k'], the mean texture distance between filter k's and filter k''s valid results over every pair of
    content images (NaN where either filter has no valid result); the diagonal is NaN."""
    weight = (valid[:, :, None, None] & valid[None, None, :, :]).astype(np.float64)
    total = np.einsum("kilj,kilj->kl", np.nan_to_num(d), weight)
    count = np.einsum("kilj->kl", weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    np.fill_diagonal(out, np.nan)
    return out


def nearest(distance: np.ndarray, count: int = NEIGHBOURS):
    """Each row's ``count`` nearest other columns (by place) and their distances, NaNs last and left out."""
    order = np.argsort(np.where(np.isnan(distance), np.inf, distance), axis=1, kind="stable")[:, :count]
    return order, np.take_along_axis(distance, order, axis=1)


def score(d: np.ndarray, filters: Sequence[int], seed: int = 0, valid: Optional[np.ndarray] = None) -> LayerScore:
    """The texture-identity score of one layer from d[k, i, k', j] (K filters x I content images each);
    ``valid[k, i]`` False marks a result left out (its filter did not fire on that image)."""
    n_filters, n_images = d.shape[:2]
    if n_filters < 2 or n_images < 2:
        raise ValueError(f"a score needs at least 2 filters and 2 content images, got {n_filters} and {n_images}")
    valid = np.ones((n_filters, n_images), bool) if valid is None else np.asarray(valid, bool)
    r = ranks(d, valid)
    accuracy, mrr = per_filter(r)
    control_accuracy, control_mrr = _control(d, valid, seed)
    pairs = ~np.eye(n_images, dtype=bool)
    ok = valid[:, :, None] & valid[:, None, :] & pairs[None]  # (k, i, j): a pair filter k is scored on
    within = np.mean([d[k, i, k, j] for k, i, j in zip(*np.nonzero(ok))]) if ok.any() else np.nan
    between_mask = (~np.eye(n_filters, dtype=bool)[:, None, :, None] & pairs[None, :, None, :]
                    & valid[:, :, None, None] & valid[None, None, :, :])
    between = d[between_mask].mean() if between_mask.any() else np.nan
    scored = ~np.isnan(accuracy)
    summary = {"filters": n_filters, "content_images": n_images, "filters_scored": int(scored.sum()),
               "dead_results": int((~valid).sum()),
               "identity_accuracy": _mean(accuracy), "mean_reciprocal_rank": _mean(mrr),
               "chance_accuracy": 1.0 / n_filters, "chance_mrr": harmonic(n_filters) / n_filters,
               "shuffled_accuracy": _mean(control_accuracy), "shuffled_mrr": _mean(control_mrr),
               "between_within_ratio": float(between / max(within, 1e-30))}
    neighbours, neighbour_distances = nearest(filter_distances(d, valid), min(NEIGHBOURS, n_filters - 1))
    return LayerScore(list(filters), accuracy, mrr, r, summary, neighbours, neighbour_distances)


def _mean(values: np.ndarray) -> float:
    """The mean over the filters that were scored (NaN when none was)."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else float("nan")


def per_filter(r: np.ndarray):
    """Each filter's accuracy and MRR over its scored ranks r[k, ...] (NaN for a filter with none)."""
    flat = r.reshape(r.shape[0], -1)
    valid = ~np.isnan(flat)
    accuracy = np.array([np.mean(row[ok] == 1) if ok.any() else np.nan for row, ok in zip(flat, valid)])
    mrr = np.array([np.mean(1.0 / row[ok]) if ok.any() else np.nan for row, ok in zip(flat, valid)])
    return accuracy, mrr


CONTROL_DRAWS = 64  # label shufflings averaged: one draw alone scatters by about 1/sqrt(K I (I - 1)) around chance


def _control(d: np.ndarray, valid: np.ndarray, seed: int):
    """Per filter, the accuracy and MRR with every content image's filter labels shuffled independently,
    averaged over ``CONTROL_DRAWS`` draws: with labels that mean nothing, the expected accuracy is chance
    (1/K) whatever the pictures, so a control far from chance says the procedure itself is biased."""
    rng = np.random.default_rng(seed)
    accuracy, mrr = [], []
    for _ in range(CONTROL_DRAWS):
        perms = [rng.permutation(d.shape[0]) for _ in range(d.shape[1])]
        a, m = per_filter(ranks(_shuffled(d, perms), _shuffled_valid(valid, perms)))
        accuracy.append(a)
        mrr.append(m)
    with np.errstate(all="ignore"):
        return np.nanmean(accuracy, axis=0), np.nanmean(mrr, axis=0)


def _shuffled(d: np.ndarray, perms: Sequence[np.ndarray]) -> np.ndarray:
    """The control: each content image's filter labels permuted at random, so "the same filter" means nothing."""
    n_images = d.shape[1]
    out = np.empty_like(d)
    for i in range(n_images):
        for j in range(n_images):
            out[:, i, :, j] = d[perms[i]][:, i][:, perms[j], j]
    return out


def _shuffled_valid(valid: np.ndarray, perms: Sequence[np.ndarray]) -> np.ndarray:
    """Which results are valid under the control's labels: each result keeps its own validity."""
    return np.stack([valid[perms[i], i] for i in range(valid.shape[1])], axis=1)


def harmonic(n: int) -> float:
    """H_n = 1 + 1/2 + ... + 1/n."""
    return float(np.sum(1.0 / np.arange(1, n + 1)))


def by_filter_and_image(full: np.ndarray, n_filters: int, n_images: int) -> np.ndarray:
    """An (N, N) distance matrix over images ordered filter-major (k * I + i) as d[k, i, k', j]."""
    return full.reshape(n_filters, n_images, n_filters, n_images)


@dataclass(frozen=True)
class AgreementScore:
    """Does a filter's visualisation look like the texture it extracts? Per filter and its summary."""

    filters: List[int]
    accuracy: np.ndarray  # per filter: share of content images whose FMI of this filter is the nearest
    mrr: np.ndarray
    ranks: np.ndarray  # (K, I), NaN where the filter's FMI from that image is left out
    summary: Dict[str, float]


def agreement(d: np.ndarray, filters: Sequence[int], seed: int = 0, valid: Optional[np.ndarray] = None) -> AgreementScore:
    """The agreement score of one layer from d[k, k', i], the distance between filter k's visualisation and
    filter k''s FMI result from content image i: the rank of the right match is
        r(k, i) = 1 + #{k' != k : d[k, k', i] < d[k, k, i]},
    accuracy the share of content images with r = 1, MRR the mean of 1/r; beside chance and a control with
    the visualisations' filter labels shuffled. ``valid[k, i]`` False leaves out filter k's FMI from image i."""
    n_filters, _, n_images = d.shape
    valid = np.ones((n_filters, n_images), bool) if valid is None else np.asarray(valid, bool)
    r = _agreement_ranks(d, valid)
    accuracy, mrr = per_filter(r[:, :, None])
    perm = np.random.default_rng(seed).permutation(n_filters)
    control_accuracy, control_mrr = per_filter(_agreement_ranks(d[perm], valid)[:, :, None])
    summary = {"filters": n_filters, "content_images": n_images, "filters_scored": int((~np.isnan(accuracy)).sum()),
               "agreement_accuracy": _mean(accuracy), "agreement_mrr": _mean(mrr),
               "chance_accuracy": 1.0 / n_filters, "chance_mrr": harmonic(n_filters) / n_filters,
               "shuffled_accuracy": _mean(control_accuracy), "shuffled_mrr": _mean(control_mrr)}
    return AgreementScore(list(filters), accuracy, mrr, r, summary)


def _agreement_ranks(d: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """r[k, i] (NaN where filter k's own FMI from image i is left out): how many filters' FMIs are nearer to
    the visualisation labelled k than the FMI labelled k, plus one."""
    n_filters, _, n_images = d.shape
    out = np.full((n_filters, n_images), np.nan)
    for k in range(n_filters):
        for i in range(n_images):
            if valid[k, i]:
                row = d[k, :, i]
                out[k, i] = 1 + np.count_nonzero(np.delete(row, k) < row[k])
    return out
