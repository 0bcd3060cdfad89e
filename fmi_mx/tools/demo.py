"""``make demo``: a small figure 3 with untrained weights and a bundled picture, no downloads.

Random-weight VGGs also invert images; their shallow filters show colour and texture, deeper ones
stay near gray, hence relu1_2 and relu2_2. Runs through the same path as ``fmi-mx run``.
"""
from pathlib import Path

from ..core.optimise import Settings
from ..core.tasks import default
from ..sweep.config import Experiment, Panel

IMAGE = "sample:astronaut"
SIZE = 128  # px: a minute on two CPU cores
ITERATIONS = default(Settings, "max_iterations")


def make(image: str = IMAGE, size: int = SIZE, iterations: int = ITERATIONS) -> Experiment:
    return Experiment(name="demo", figure="fig3", weights="random:0", size=size,
                      optimise={"max_iterations": iterations},
                      panels=(Panel(mode="feature_map", contents=(image,), layers=("relu1_2", "relu2_2"),
                                    filters=(0, 1, 2, 3, 4)),))


def run(out: Path, image: str = IMAGE, size: int = SIZE, iterations: int = ITERATIONS) -> int:
    from ..sweep import experiment  # imports MXNet

    experiment.run(make(image, size, iterations), out)  # ends with the figure
    print("These come from UNTRAINED (random He-initialised) weights. For the paper's pretrained VGG-19 run\n"
          "`fmi-mx weights fetch` (needs internet) or put the neural-style vgg19.params in models/.")
    return 0
