"""``make demo``: FMI of filters 0..4 at relu1_2 and relu2_2 with untrained weights, no downloads.

Random-weight VGGs also invert images; their shallow filters show colour and texture, deeper ones
stay near gray, hence the two shallow layers.
"""
import sys
import time
from pathlib import Path

from . import files, figures, images, tasks, weights
from .optimise import Settings

LAYERS = ("relu1_2", "relu2_2")
FILTERS = range(5)
SEED = 0


def run(out: Path, image: str = "sample:astronaut", size: int = 128, iterations: int = 1000) -> int:
    w = weights.random_he(SEED)
    runner = tasks.Runner(w, "cpu")
    content = images.resize_long_edge(images.read(image), size).astype("uint8")
    rows, start = [], time.perf_counter()
    for name in LAYERS:
        row = [content]
        for k in FILTERS:
            task = tasks.Inversion(image, (name,), "feature_map", k, size=size,
                                   optimise=Settings(max_iterations=iterations))
            result = runner.run(task)
            path = out / f"fmi_{name}_f{k}.png"
            images.write(path, result.image)
            files.write_json(path.with_suffix(".json"), tasks.record(task, result, w, "cpu"))
            share = result.metrics["filter_energy_share"][name]
            print(f"{path}: {result.outcome.iterations} iterations, filter {k} holds "
                  f"{share['result']:.1%} of the energy (content: {share['content']:.1%})")
            row.append(result.image)
        rows.append(row)
    sheet = figures.grid(rows, list(LAYERS), ["content"] + [f"filter {k}" for k in FILTERS],
                         title=f"FMI, untrained VGG-19 ({w.source})")
    sheet_path = images.write(out / "fmi_demo.png", sheet)
    print(f"\n{sheet_path}: the figure ({time.perf_counter() - start:.0f} s)", file=sys.stdout)
    print("These come from UNTRAINED (random He-initialised) weights. For the paper's pretrained VGG-19 run\n"
          "`fmi-mx weights fetch` (needs internet) or put the neural-style vgg19.params in models/.")
    return 0
