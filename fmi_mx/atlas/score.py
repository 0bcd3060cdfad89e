"""The texture-identity score, pure numpy: is filter k's texture the same whatever the content image?

R(k, i) is the optimised image for filter k and content image i; D_l(R) = G_l(R) / (C_l M_l) is Gatys'
texture representation at relu1_1, relu2_1, relu3_1 (``DESCRIPTOR_LAYERS``). For two images
    d(R, R') = sum_l ||D_l(R) - D_l(R')||_F / (||D_l(R)||_F + ||D_l(R')||_F).
For filter k and each ordered pair of different content images (i, j), the rank of the right match is
    r = 1 + #{k' != k : d(R(k,i), R(k',j)) < d(R(k,i), R(k,j))}.
Per filter: identity accuracy (share of pairs with r = 1) and mean reciprocal rank; per layer their
means beside chance (1/|K| and H_|K|/|K|), a label-shuffled control, and the ratio of the mean
between-filter to the mean within-filter distance.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

DESCRIPTOR_LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def descriptor(code: np.ndarray) -> np.ndarray:
    """D = F F^T / (C M) of one code (C, H, W), flattened (float64)."""
    c = code.shape[0]
    flat = code.reshape(c, -1).astype(np.float64)
    return (flat @ flat.T / (c * flat.shape[1])).ravel()


def distances(descriptors: Sequence[np.ndarray]) -> np.ndarray:
    """d between every two of N images, from one (N, d_l) matrix per descriptor layer: (N, N)."""
    total = 0.0
    for x in descriptors:
        x = np.asarray(x, np.float64)
        squared = np.sum(x * x, axis=1)
        norms = np.sqrt(squared)
        diff = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2.0 * (x @ x.T), 0.0))
        total = total + diff / np.maximum(norms[:, None] + norms[None, :], 1e-30)
    np.fill_diagonal(total, 0.0)
    return total


def ranks(d: np.ndarray) -> np.ndarray:
    """r[k, i, j] (NaN where i == j) from a distance array d[k, i, k', j] over K filters and I images."""
    n_filters, n_images = d.shape[:2]
    out = np.full((n_filters, n_images, n_images), np.nan)
    for k in range(n_filters):
        for i in range(n_images):
            for j in range(n_images):
                if i != j:
                    row = d[k, i, :, j]
                    out[k, i, j] = 1 + np.count_nonzero(np.delete(row, k) < row[k])
    return out


@dataclass(frozen=True)
class LayerScore:
    """A layer's score: per filter, and the summary with chance and a shuffled-label control."""

    filters: List[int]
    accuracy: np.ndarray  # per filter
    mrr: np.ndarray  # per filter
    ranks: np.ndarray  # (K, I, I), NaN on the diagonal
    summary: Dict[str, float]


def score(d: np.ndarray, filters: Sequence[int], seed: int = 0) -> LayerScore:
    """The texture-identity score of one layer from d[k, i, k', j] (K filters x I content images each)."""
    n_filters, n_images = d.shape[:2]
    if n_filters < 2 or n_images < 2:
        raise ValueError(f"a score needs at least 2 filters and 2 content images, got {n_filters} and {n_images}")
    r = ranks(d)
    accuracy, mrr = _per_filter(r)
    control = ranks(_shuffled(d, np.random.default_rng(seed)))
    control_accuracy, control_mrr = _per_filter(control)
    pairs = ~np.eye(n_images, dtype=bool)
    within = np.mean([d[k, i, k, j] for k in range(n_filters) for i, j in zip(*np.nonzero(pairs))])
    between_mask = ~np.eye(n_filters, dtype=bool)[:, None, :, None] & pairs[None, :, None, :]
    between = d[between_mask].mean()
    summary = {"filters": n_filters, "content_images": n_images, "identity_accuracy": float(accuracy.mean()),
               "mean_reciprocal_rank": float(mrr.mean()), "chance_accuracy": 1.0 / n_filters,
               "chance_mrr": harmonic(n_filters) / n_filters,
               "shuffled_accuracy": float(control_accuracy.mean()), "shuffled_mrr": float(control_mrr.mean()),
               "between_within_ratio": float(between / max(within, 1e-30))}
    return LayerScore(list(filters), accuracy, mrr, r, summary)


def _per_filter(r: np.ndarray):
    flat = r.reshape(r.shape[0], -1)
    valid = ~np.isnan(flat)
    accuracy = np.array([np.mean(row[ok] == 1) for row, ok in zip(flat, valid)])
    mrr = np.array([np.mean(1.0 / row[ok]) for row, ok in zip(flat, valid)])
    return accuracy, mrr


def _shuffled(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The control: each content image's filter labels permuted at random, so "the same filter" means nothing."""
    n_filters, n_images = d.shape[:2]
    perms = [rng.permutation(n_filters) for _ in range(n_images)]
    out = np.empty_like(d)
    for i in range(n_images):
        for j in range(n_images):
            out[:, i, :, j] = d[perms[i]][:, i][:, perms[j], j]
    return out


def harmonic(n: int) -> float:
    """H_n = 1 + 1/2 + ... + 1/n."""
    return float(np.sum(1.0 / np.arange(1, n + 1)))


def by_filter_and_image(full: np.ndarray, n_filters: int, n_images: int) -> np.ndarray:
    """An (N, N) distance matrix over images ordered filter-major (k * I + i) as d[k, i, k', j]."""
    return full.reshape(n_filters, n_images, n_filters, n_images)
