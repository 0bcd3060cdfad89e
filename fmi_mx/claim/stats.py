"""The claim's statistics, pure numpy: bootstrap intervals over filters, and two measures of a picture
for the paper's second claim (colour and structure grow richer with depth).

Intervals resample filters: a layer's filters are the units (each one's score over content images is
one number), so the interval says how the layer's mean would move with another draw of filters.

Colourfulness is Hasler & Süsstrunk's (2003) M on RGB in 0..255: with rg = R - G and
yb = (R + G)/2 - B, M = sqrt(var rg + var yb) + 0.3 sqrt(mean rg^2 + mean yb^2); grey is 0, and
their survey rated M about 15 "slightly", 33 "moderately", 45 "averagely", 59 "quite" and 82 "highly
colourful".

Structural complexity is the entropy of gradient orientations weighted by gradient magnitude, over
ORIENTATION_BINS bins of [0, pi), divided by its maximum: 0 for one orientation (parallel stripes),
1 for every orientation equally (isotropic structure). Chosen over the compressed size of the picture
because that size grows with colour and with pixel noise as much as with structure, which would make
the two measures say the same thing; orientation entropy ignores colour and contrast and, weighted by
magnitude, flat regions.
"""
from typing import Sequence, Tuple

import numpy as np

BOOTSTRAP = 2000  # resamples
LEVEL = 0.95
ORIENTATION_BINS = 16


def bootstrap_interval(values: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP,
                       level: float = LEVEL) -> Tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` and its percentile bootstrap interval (NaNs left out)."""
    x = np.asarray(values, np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (resamples, x.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(x.mean()), float(low), float(high)


def paired_difference(a: Sequence[float], b: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP,
                      level: float = LEVEL) -> Tuple[float, float, float]:
    """(mean of a - b, low, high) over the units both score (a NaN in either leaves the unit out),
    resampling units: the same filter of two networks stays paired."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bootstrap_interval(a - b, seed, resamples, level)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's M of an RGB picture (H, W, 3) in 0..255."""
    x = np.asarray(rgb, np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def orientation_entropy(rgb: np.ndarray, bins: int = ORIENTATION_BINS) -> float:
    """Entropy of gradient orientations (mod pi) weighted by magnitude, over its maximum log(bins): in [0, 1].
    NaN for a picture without any gradient."""
    gray = np.asarray(rgb, np.float64) @ np.array([0.299, 0.587, 0.114]) if np.ndim(rgb) == 3 else \
        np.asarray(rgb, np.float64)
    gy, gx = np.gradient(gray)
    magnitude = np.hypot(gx, gy)
    total = magnitude.sum()
    if total <= 0:
        return float("nan")
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    histogram, _ = np.histogram(angle, bins=bins, range=(0.0, np.pi), weights=magnitude)
    p = histogram[histogram > 0] / total
    return float(-(p * np.log(p)).sum() / np.log(bins))
