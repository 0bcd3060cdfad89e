"""The four code modifications of the original code: pure numpy on one code F of shape (C, H, W).

Each returns the target T that the inversion drives phi_L(x) towards. Inputs are checked by the
task that asks for them (``tasks.Inversion``), not here.
"""
from typing import Optional

import numpy as np

from ..errors import FmiError

MODES = ("original", "feature_map", "random", "purposeful")


def original(code: np.ndarray) -> np.ndarray:
    """Classical code inversion: T = F."""
    return np.array(code, dtype=np.float32, copy=True)


def feature_map(code: np.ndarray, filter_index: int) -> np.ndarray:
    """FMI (figure 3): T[l] = sum_k F[k] (all channels stacked into filter l); every other channel 0."""
    target = np.zeros_like(code, dtype=np.float32)
    target[filter_index] = code.sum(axis=0)
    return target


def random_ratios(channels: int, rng: np.random.Generator) -> np.ndarray:
    """r = v / sum(v), v ~ N(3, 1000) per channel (sic: the authors' mean and standard deviation)."""
    v = rng.normal(3.0, 1000.0, size=channels)
    return v / v.sum()


def random(code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random modification (figure 4): T[k] = S r_k F[k] / S_k, S_k = sum F[k], S = sum_k S_k.

    Deviation: a dead channel (S_k = 0) stays 0, where the original computes 0/0 = NaN.
    """
    ratios = random_ratios(code.shape[0], rng)
    sums = code.sum(axis=(1, 2), dtype=np.float64)
    alive = sums != 0
    scale = np.zeros_like(sums)
    scale[alive] = sums.sum() * ratios[alive] / sums[alive]
    return (code * scale[:, None, None]).astype(np.float32)


def purposeful(code: np.ndarray, style_code: np.ndarray) -> np.ndarray:
    """Purposeful modification: move the content channel of sum-rank i to the channel that has rank i
    in the style code, then give each channel the style channel's spatial mean.

    Ties in the channel sums are broken by channel index (stable sort); the original's quicksort
    leaves them to chance.
    """
    if code.shape != style_code.shape:
        raise FmiError(f"content code {code.shape} and style code {style_code.shape} differ in shape")
    content_rank = np.argsort(code.sum(axis=(1, 2)), kind="stable")
    style_rank = np.argsort(style_code.sum(axis=(1, 2)), kind="stable")
    target = np.empty_like(code, dtype=np.float32)
    target[style_rank] = code[content_rank]
    target += style_code.mean(axis=(1, 2), keepdims=True) - target.mean(axis=(1, 2), keepdims=True)
    return target


def modify(mode: str, code: np.ndarray, *, filter_index: Optional[int] = None,
           rng: Optional[np.random.Generator] = None, style_code: Optional[np.ndarray] = None) -> np.ndarray:
    """The target of ``mode`` (one of MODES) with the inputs that mode needs."""
    if mode == "feature_map":
        return feature_map(code, filter_index)
    if mode == "random":
        return random(code, rng)
    if mode == "purposeful":
        return purposeful(code, style_code)
    return original(code)
