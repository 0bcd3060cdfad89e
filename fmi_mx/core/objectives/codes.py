"""The four code modifications of the original code: pure numpy on one code F of shape (C, H, W).

Each returns the target T that the inversion drives phi_L(x) towards. Each mode is a ``Modification``
class, registered under its name: it says what a job of that mode needs (a filter, a style), checks it,
and makes the target. A new mode is one new subclass here.
"""
from typing import ClassVar, Dict, Iterator, Optional

import numpy as np

from ...errors import FmiError, unknown
from ..rules import Problem, check, given


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


class Modification:
    """One code modification: whether its jobs take a filter or a style, their checks, and the target."""

    name: ClassVar[str] = ""
    uses_filter: ClassVar[bool] = False  # one job per filter of a panel
    uses_style: ClassVar[bool] = False  # one job per style of a panel
    draws: ClassVar[bool] = False  # its target is a random draw: each seed another

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        MODIFICATIONS[cls.name] = cls()

    def target(self, code: np.ndarray, *, filter_index: Optional[int], rng: np.random.Generator,
               style_code: Optional[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def problems(self, task) -> Iterator[Problem]:
        """What a task of this mode lacks (``task``: an ``Inversion``)."""
        return iter(())

    def metrics(self, task, content: Dict[str, np.ndarray], final: Dict[str, np.ndarray]) -> Dict[str, object]:
        """Measures of a finished job beyond the code error."""
        return {}


MODIFICATIONS: Dict[str, Modification] = {}


class Original(Modification):
    name = "original"

    def target(self, code, *, filter_index, rng, style_code):
        return original(code)


class FeatureMap(Modification):
    name = "feature_map"
    uses_filter = True

    def target(self, code, *, filter_index, rng, style_code):
        return feature_map(code, filter_index)

    def problems(self, task):
        yield from task.net.filter_problems("filter", task.filter, task.layers, "mode feature_map needs a filter index")

    def metrics(self, task, content, final):
        return {"filter_energy_share": {name: {"content": energy_share(content[name], task.filter),
                                               "result": energy_share(final[name], task.filter)}
                                        for name in task.layers}}


class Random(Modification):
    name = "random"
    draws = True

    def target(self, code, *, filter_index, rng, style_code):
        return random(code, rng)


class Purposeful(Modification):
    name = "purposeful"
    uses_style = True

    def target(self, code, *, filter_index, rng, style_code):
        return purposeful(code, style_code)

    def problems(self, task):
        yield from check("style", task.style, given("mode purposeful needs a style image"))


MODES = tuple(MODIFICATIONS)


def modification(mode: str) -> Modification:
    """The modification called ``mode``; an unknown name is an error, never a fallback."""
    try:
        return MODIFICATIONS[mode]
    except (KeyError, TypeError):
        raise unknown("mode", mode, MODES) from None


def modify(mode: str, code: np.ndarray, *, filter_index: Optional[int] = None,
           rng: Optional[np.random.Generator] = None, style_code: Optional[np.ndarray] = None) -> np.ndarray:
    """The target of ``mode`` (one of MODES) with the inputs that mode needs."""
    return modification(mode).target(code, filter_index=filter_index, rng=rng, style_code=style_code)


def energy_share(code: np.ndarray, index: int) -> float:
    """Fraction of a code's energy (sum of squares) held by one channel."""
    energy = np.square(code.astype(np.float64)).sum(axis=(1, 2))
    return float(energy[index] / max(energy.sum(), 1e-30))
