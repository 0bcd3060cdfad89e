"""How much of a style a picture carries and how much of its content it keeps, judged by a fixed
reference network (trained VGG-19 when it is there, else trained VGG-16), from the saved pictures.

- Style, two ways, at relu1_1..relu5_1: Gram descriptors G/(CM) (Gatys' texture) and channel means
  (PMCI's channel sums per position). d(R, S) = sum over layers of ||D(R) - D(S)|| / (||D(R)|| + ||D(S)||),
  the atlas's texture distance. Reported relative to the content picture's own distance to the style:
  1 means the result is as far from the style as the content was, 0 that it carries the style exactly.
- Content: the relative relu2_2 code error ||F(R) - F(C)|| / ||F(C)||.
"""
import hashlib
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from ..core.objectives.losses import channel_sums
from .score import cross_distances, descriptor

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu2_2"


def channel_means(code: np.ndarray) -> np.ndarray:
    """The channel sums of a code (C, H, W) per position: PMCI's statistic, comparable across sizes."""
    return channel_sums(code) / code[0].size


def distance(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """The texture distance between two pictures from their per-layer descriptor vectors."""
    return float(cross_distances([x[None] for x in a], [y[None] for y in b])[0, 0])


def metrics(result: Dict[str, np.ndarray], content: Dict[str, np.ndarray], style: Dict[str, np.ndarray]) -> Dict[str, float]:
    """The style and content measures from the three pictures' codes (layer -> (C, H, W)) at
    ``STYLE_LAYERS`` and ``CONTENT_LAYER``."""
    out = {}
    for name, statistic in (("gram", descriptor), ("channel_sum", channel_means)):
        r, c, s = ([statistic(codes[layer]) for layer in STYLE_LAYERS] for codes in (result, content, style))
        to_style, content_to_style = distance(r, s), distance(c, s)
        out[f"{name}_style_distance"] = to_style / max(content_to_style, 1e-30)
    f, fc = result[CONTENT_LAYER].astype(np.float64), content[CONTENT_LAYER].astype(np.float64)
    out["content_error"] = float(np.linalg.norm(f - fc) / max(np.linalg.norm(fc), 1e-30))
    return out


def reference_weights(models: Path = Path("models")):
    """The trained weights that judge style: the paper's VGG-19 if fetched, else VGG-16; None without either."""
    from ..core.network import weights as weights_module
    from ..errors import FmiError

    for network in ("vgg19", "vgg16"):
        path = Path(models) / f"{network}.params"
        try:
            w = weights_module.load(path) if path.is_file() else None
        except FmiError:
            w = None
        if w is not None and w.pretrained:
            return w
    return None


class StyleJudge:
    """The reference network on one device, measuring pictures (RGB uint8, any size)."""

    def __init__(self, weights, device: str = "cpu"):
        from ..core.run.engine import Runner

        self.runner = Runner(weights, device)
        self.weights = weights
        self._known: Dict[tuple, Dict[str, np.ndarray]] = {}  # a content or style picture's codes, by its bytes and size

    def codes(self, picture: np.ndarray) -> Dict[str, np.ndarray]:
        from ..core.image import images

        x = images.preprocess(picture, self.weights.mean_rgb)
        layers = STYLE_LAYERS + (CONTENT_LAYER,)
        codes = self.runner.graphs.encoder(layers, x.shape, "avg").codes(x)
        return {name: codes[name][0] for name in layers}

    def measure(self, result: np.ndarray, content: np.ndarray, style: np.ndarray) -> Dict[str, float]:
        """``metrics`` of a result, its content picture and its style picture (both resized to the result)."""
        shape = result.shape[:2]
        return metrics(self.codes(result), self._resized_codes(content, shape), self._resized_codes(style, shape))

    def _resized_codes(self, picture: np.ndarray, shape) -> Dict[str, np.ndarray]:
        """The codes of a content or style picture at a result's size, once per picture and size: the results
        of a figure share a handful of them."""
        from ..core.image import images

        key = (hashlib.sha256(picture.tobytes()).hexdigest(), picture.shape, tuple(shape))
        if key not in self._known:
            self._known[key] = self.codes(images.resize(picture, shape))
        return self._known[key]
