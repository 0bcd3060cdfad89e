"""The claim's statistics, pure numpy: bootstrap intervals, and the ROC AUC of a distance.

Intervals resample units: a layer's filters (each one's score over content images is one number), a
style transfer's results, or a painting's crops, so the interval says how the mean would move with
another draw of those units.
"""
from typing import Callable, NamedTuple, Sequence, Tuple

import numpy as np

BOOTSTRAP = 2000  # resamples
LEVEL = 0.95
NAN = float("nan")


class Interval(NamedTuple):
    """A number and the bounds of its bootstrap interval."""

    mean: float
    low: float
    high: float

    def row(self, key: str, rounded: Callable[[float], object] = float) -> dict:
        """The number and its bounds as a table's columns name them (``key``, ``key_low``, ``key_high``)."""
        return dict(zip(interval_keys(key), map(rounded, self)))


def interval_keys(key: str) -> Tuple[str, str, str]:
    """A number and the bounds of its interval, as a table's columns name them."""
    return key, f"{key}_low", f"{key}_high"


def bootstrap_interval(values: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP,
                       level: float = LEVEL) -> Interval:
    """The mean of ``values`` and its percentile bootstrap interval (NaNs left out)."""
    x = np.asarray(values, np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Interval(NAN, NAN, NAN)
    return percentile_interval((x,), lambda v, axis: v.mean(axis=axis), seed, resamples, level)


def percentile_interval(samples, statistic, seed: int = 0, resamples: int = BOOTSTRAP, level: float = LEVEL,
                        vectorized: bool = True) -> Interval:
    """scipy's percentile bootstrap of ``statistic(*samples, axis=...)`` over independently resampled
    ``samples`` (a stratified bootstrap); samples that cannot vary (one value, or all alike) give an interval
    of the point value alone."""
    from scipy.stats import bootstrap

    point = float(statistic(*samples, axis=-1))
    if all(s.size < 2 or np.all(s == s[0]) for s in samples):
        return Interval(point, point, point)
    found = bootstrap(samples, statistic, n_resamples=resamples, confidence_level=level, method="percentile",
                      vectorized=vectorized, paired=False, random_state=np.random.default_rng(seed))
    return Interval(point, float(found.confidence_interval.low), float(found.confidence_interval.high))


def paired_difference(a: Sequence[float], b: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP,
                      level: float = LEVEL) -> Interval:
    """The mean of a - b and its interval over the units both score (a NaN in either leaves the unit out),
    resampling units: the same filter of two networks stays paired."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bootstrap_interval(a - b, seed, resamples, level)


def difference(a: Sequence[float], b: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP,
               level: float = LEVEL) -> Interval:
    """The mean of a - the mean of b and its interval, for two unpaired samples, each resampled on its own."""
    x, y = (np.asarray(v, np.float64) for v in (a, b))
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size == 0 or y.size == 0:
        return Interval(NAN, NAN, NAN)
    return percentile_interval((x, y), lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis), seed,
                                resamples, level)


def roc_auc(different: Sequence[float], same: Sequence[float]) -> float:
    """The probability that a different pair lies farther apart than a same pair (ties count half):
    the ROC AUC of a distance that should tell the two apart; 0.5 is chance."""
    d, s = np.asarray(different, np.float64), np.asarray(same, np.float64)
    if d.size == 0 or s.size == 0:
        return float("nan")
    greater = (d[:, None] > s[None, :]).sum() + 0.5 * (d[:, None] == s[None, :]).sum()
    return float(greater / (d.size * s.size))
