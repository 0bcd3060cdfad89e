"""``make demo``: a small figure 3 with untrained weights and a bundled picture, no downloads.

Random-weight VGGs also invert images; their shallow filters show colour and texture, deeper ones
stay near gray, hence relu1_2 and relu2_2. Runs through the same path as ``fmi-mx run``.
"""
from pathlib import Path

from . import experiments
from .config import Experiment, Panel


def experiment(image: str = "sample:astronaut", size: int = 128, iterations: int = 1000) -> Experiment:
    return Experiment(name="demo", figure="fig3", weights="random:0", size=size, optimise={"max_iterations": iterations},
                      panels=(Panel("feature_map", (image,), ("relu1_2", "relu2_2"), (0, 1, 2, 3, 4)),))


def run(out: Path, image: str = "sample:astronaut", size: int = 128, iterations: int = 1000) -> int:
    exp = experiment(image, size, iterations)
    experiments.run(exp, out)  # ends with the figure
    print("These come from UNTRAINED (random He-initialised) weights. For the paper's pretrained VGG-19 run\n"
          "`fmi-mx weights fetch` (needs internet) or put the neural-style vgg19.params in models/.")
    return 0
