"""Fingerprints of the faithful path, to compare two commits bit for bit on one machine.

    python benchmarks/fingerprint.py > before.json      # on the old commit
    python benchmarks/fingerprint.py > after.json       # on the new one
    diff before.json after.json                          # empty: nothing moved

It records, for the six reference cases (original, feature_map, random, purposeful, gram, pmci; 32 px,
seeded random VGG-19, 30 updates), a batch of five FMIs, the same five streamed through two slots
(continuous batching) with SGD and with Adam, an L-BFGS batch and a visualisation in the Fourier basis
with random transforms, the sha256 of every optimised image and target, the iteration counts and the
loss history; and the job ids of every shipped config (weights
``random:0`` where the config names a file, so no download is needed). Floating-point results differ
between CPU kinds, so compare fingerprints made on the same machine, never against a stored file.
"""
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from fmi_mx.core import tasks  # noqa: E402
from fmi_mx.core.network import weights as weights_module
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.optimisation.settings import Settings

CONTENT, STYLE = "sample:astronaut", "sample:brick"


def settings(**values) -> Settings:
    """Settings by their public names (``from_flat`` where the settings come in parts)."""
    return getattr(Settings, "from_flat", Settings)(**values)


def cases():
    """The six reference cases, one per mode."""
    s = settings(max_iterations=30)
    style_settings = settings(max_iterations=30, weight_decay=tasks.STYLE_WEIGHT_DECAY)
    inversion = dict(content=CONTENT, size=32, optimise=s)
    return {
        "original": tasks.Inversion(layers=("relu1_1", "relu2_1"), mode="original", **inversion),
        "feature_map": tasks.Inversion(layers=("relu2_2",), mode="feature_map", filter=3, **inversion),
        "random": tasks.Inversion(layers=("relu3_1",), mode="random", seed=1, **inversion),
        "purposeful": tasks.Inversion(layers=("relu2_1",), mode="purposeful", style=STYLE, **inversion),
        "gram": tasks.StyleTransfer(content=CONTENT, style=STYLE, mode="gram", size=32, optimise=style_settings),
        "pmci": tasks.StyleTransfer(content=CONTENT, style=STYLE, mode="pmci", size=32,
                                    style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                                    optimise=style_settings),
    }


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, np.float32).tobytes()).hexdigest()[:16]


def result_print(result) -> dict:
    o = result.outcome
    return {"x": digest(o.x), "image": hashlib.sha256(result.image.tobytes()).hexdigest()[:16],
            "iterations": o.iterations, "stop_reason": o.stop_reason,
            "history": hashlib.sha256(json.dumps(o.history).encode()).hexdigest()[:16],
            "final_loss": repr(result.metrics["final_loss"])}


def job_ids() -> dict:
    from fmi_mx.sweep import config, jobs

    out = {}
    for path in sorted((REPO / "experiments").rglob("*.yaml")):
        try:
            exp = config.load(path, base=REPO)
        except Exception as e:  # a config whose images are not here (inputs/): ids need the images
            out[str(path.relative_to(REPO))] = f"not loaded: {type(e).__name__}"
            continue
        sha = weights_module.resolve(exp.weights).sha256 if exp.weights.startswith("random") else "file-weights"
        out[str(path.relative_to(REPO))] = [job.id for job in jobs.expand(exp, sha)]
    return out


def main() -> None:
    runner = Runner(weights_module.random_he(0))
    out = {"cases": {name: result_print(runner.run(task)) for name, task in cases().items()}}
    batch = [tasks.Inversion(content=CONTENT, layers=("relu1_2",), mode="feature_map", filter=k, size=32,
                             optimise=settings(max_iterations=40)) for k in (48, 15, 0, 36, 30)]
    out["batch_of_five"] = [result_print(r) for r in runner.run_batch(batch)]
    staggered = dict(max_iterations=60, stop_eps=0.03)  # jobs stop at different updates, so slots refill mid-run
    for name, s in (("sgd", settings(lr_step=7, lr_factor=0.9, **staggered)),
                    ("adam", settings(method="adam", **staggered))):
        five = [dataclasses.replace(t, optimise=s) for t in batch]
        out[f"batch_of_five_{name}_staggered"] = [result_print(r) for r in runner.run_batch(five)]
        out[f"stream_of_five_{name}"] = [result_print(r) for r in
                                         runner.run_stream(five, [runner.inputs(t) for t in five], slots=2)]
    lbfgs = [dataclasses.replace(t, optimise=settings(method="lbfgs", max_iterations=15)) for t in batch[:3]]
    out["lbfgs_batch"] = [result_print(r) for r in runner.run_batch(lbfgs)]
    seen = tasks.Visualisation(layers=("relu3_1",), filter=5, size=32, seed=3,
                               optimise=settings(method="adam", max_iterations=20, param="fourier", pad=2, jitter=2,
                                                 scale=0.1, rotate=5.0, shift=1))
    out["visualisation"] = result_print(runner.run(seen))
    out["job_ids"] = job_ids()
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
