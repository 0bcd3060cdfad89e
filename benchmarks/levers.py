"""The levers for more FMIs per minute, each measured on the step's own terms: a batch of four FMIs (filters
0-3 of one picture, 64 px, one thread, as each worker of the claim demo runs them) per layer, its wall
time, evaluations per update and the loss it reaches against L-BFGS's 50 updates (the throughput setting).

Levers: fewer L-BFGS updates; coarse-to-fine (L-BFGS at half size, the result upsampled as the full
size's start); the Fourier parameterisation (a preconditioner); a batch of eight; and batching across
layers (from the measured times: a graph deep enough for the deepest layer runs every job).
Run: ``python benchmarks/levers.py [--weights models/vgg19.params]``; writes ``results/<machine>-levers.md``.
"""
import argparse
import os
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before MXNet loads: one thread, as each claim-demo worker

import cv2
import numpy as np

from fmi_mx.core.image import images
from fmi_mx.core.network import weights as weights_module
from fmi_mx.core.optimisation import loop
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.tasks import Inversion, default

HERE = Path(__file__).resolve().parent
PICTURE = "sample:chelsea"
SIZE = 64
LAYERS = ("relu2_2", "relu3_2", "relu4_2")
BASE = "L-BFGS 50 (throughput)"


class StartedRunner(Runner):
    """A runner whose jobs start from given images (by filter) where the shapes agree: the fine stage of
    coarse-to-fine."""

    starts: Dict[int, np.ndarray] = {}

    @staticmethod
    def _job(task, shape, pending, restart=0):
        job = Runner._job(task, shape, pending, restart)
        start = StartedRunner.starts.get(task.filter)
        if start is not None and start.shape[-2:] == tuple(shape[-2:]):
            return loop.Job(start, job.targets, job.seed, job.tag)
        return job


def run(runner: Runner, layer: str, size: int, updates: int, filters: Sequence[int], **settings):
    """One batch: its seconds, evaluations and the results."""
    s = default(Inversion, "optimise").replace(method="lbfgs", max_iterations=updates, **settings)
    tasks = [Inversion(content=PICTURE, layers=(layer,), mode="feature_map", filter=f, size=size, optimise=s)
             for f in filters]
    inputs = runner.prepare(images.read(PICTURE), None, size)
    start = time.perf_counter()
    results = runner.run_batch(tasks, [inputs] * len(tasks))
    return time.perf_counter() - start, results


def final_loss(results) -> float:
    return float(np.mean([r.outcome.history[-1][1] for r in results]))


def coarse_to_fine(runner: StartedRunner, layer: str, coarse: int, fine: int):
    """L-BFGS for ``coarse`` updates at half size, the results upsampled (bilinear) as the starts of ``fine``
    updates at full size."""
    filters = range(4)
    StartedRunner.starts = {}
    seconds, results = run(runner, layer, SIZE // 2, coarse, filters)
    h, w = runner.prepare(images.read(PICTURE), None, SIZE)[0].shape[2:]
    StartedRunner.starts = {f: cv2.resize(r.outcome.x[0].transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
                            .transpose(2, 0, 1)[None].astype(np.float32) for f, r in zip(filters, results)}
    more, results = run(runner, layer, SIZE, fine, filters)
    StartedRunner.starts = {}
    return seconds + more, results


def measure(runner: StartedRunner) -> List[dict]:
    rows = []
    for layer in LAYERS:
        for size in (SIZE // 2, SIZE):
            run(runner, layer, size, 2, range(8))  # bind the graphs first
            run(runner, layer, size, 2, range(4))
        base_seconds, base = run(runner, layer, SIZE, 50, range(4))
        base_loss = final_loss(base)

        def row(lever: str, seconds: float, results, evaluations: Optional[float] = None, jobs: int = 4) -> None:
            updates = max(r.outcome.iterations for r in results)
            evaluations = evaluations or results[0].outcome.evaluations / max(updates, 1)
            rows.append({"layer": layer, "lever": lever, "speed": (base_seconds / 4) / (seconds / jobs),
                         "evaluations": evaluations, "loss": final_loss(results) / base_loss - 1, "seconds": seconds})

        row(BASE, base_seconds, base)
        for updates in (25, 30, 40):
            row(f"L-BFGS {updates}", *run(runner, layer, SIZE, updates, range(4)))
        for coarse, fine in ((30, 20), (40, 15), (30, 10)):
            row(f"coarse-to-fine {coarse} at 32 px + {fine}", *coarse_to_fine(runner, layer, coarse, fine))
        row("L-BFGS 25 at 32 px alone (the coarse stage's cost)", *run(runner, layer, SIZE // 2, 25, range(4)))
        rows[-1]["loss"] = None  # a loss of another picture size: not comparable
        for updates in (25, 50):
            row(f"Fourier parameterisation, L-BFGS {updates}", *run(runner, layer, SIZE, updates, range(4),
                                                                      param="fourier"))
        seconds, results = run(runner, layer, SIZE, 50, range(8))
        row("batch of 8, L-BFGS 50", seconds, results, jobs=8)
        rows[-1]["loss"] = final_loss(results[:4]) / base_loss - 1  # the same four filters as the others
    return rows


def table(rows: List[dict], title: str) -> str:
    lines = [f"## Levers for FMIs per minute ({title}, {PICTURE}, 64 px, filters 0-3, one thread)\n",
             "speed: jobs per second against L-BFGS 50's on the same layer (>1: faster); loss: the mean final "
             "loss of filters 0-3 against L-BFGS 50's (+: worse). Evaluations: forward and backward passes per "
             "update, the line search's included.\n",
             "| layer | lever | speed | evaluations per update | loss vs L-BFGS 50 |", "|---|---|---|---|---|"]
    for r in rows:
        loss = "another size" if r["loss"] is None else f"{100 * r['loss']:+.2f}%"
        lines.append(f"| {r['layer']} | {r['lever']} | {r['speed']:.2f}x | {r['evaluations']:.2f} | {loss} |")
    seconds = {r["layer"]: r["seconds"] for r in rows if r["lever"] == BASE}
    lines += ["", "Batching across layers: one graph as deep as the deepest layer runs every job, so each job "
              "costs the deepest layer's time. L-BFGS 50, a batch of four, seconds: " +
              ", ".join(f"{layer} {t:.2f}" for layer, t in seconds.items()) +
              f"; the three layers apart {sum(seconds.values()):.2f} s, together "
              f"{len(seconds) * max(seconds.values()):.2f} s ({sum(seconds.values()) / (len(seconds) * max(seconds.values())):.2f}x)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from bench import publish

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="models/vgg19.params",
                        help="trained VGG-19 (`fmi-mx weights fetch`); seeded random weights if it is missing")
    parser.add_argument("--out", default=str(HERE / "results"))
    a = parser.parse_args(argv)
    spec = a.weights if Path(a.weights).exists() else "random:0"
    w = weights_module.resolve(spec, "vgg19")
    rows = measure(StartedRunner(w, "cpu"))
    publish(table(rows, w.title), a.out, "levers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
