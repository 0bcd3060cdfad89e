"""What an atlas costs, before it runs: measured on this machine's CPUs, on paper for GPUs.

    python benchmarks/atlas_cost.py --config experiments/atlas-vgg19-full.yaml --shards 64 \
        --calibration runs/claim-layers/trained-vgg19 runs-vis/visualisation-demo [--check RUN --wall SECONDS]

Calibration: the finished jobs of earlier runs on this machine. A job's worker-seconds are its batch's seconds per
update x its updates / the batch size (one worker on its share of the cores). Per kind of job (FMI or
visualisation) and layer, the model keeps the mean worker-seconds per job and the mean multiply-adds of its
convolutions at its most updates (``sharding.cost``); a job takes the measured seconds of its kind and layer, or
of the nearest measured layer of its kind (by depth), scaled by its own multiply-adds over theirs.
Prediction: every job of the config, per shard of the sweep's own cost-balanced sharding, and the wall time for
N workers (their sum over N). GPUs on paper: the jobs' FLOPs (4 per multiply-add: forward, and the backward to
the image alone) over an assumed sustained rate.
Check: a finished run's prediction against its measured wall time (``--wall``, with ``--workers``).
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from fmi_mx.core.network import vgg  # noqa: E402
from fmi_mx.records import JobRecord  # noqa: E402
from fmi_mx.sweep import config, jobs, sharding  # noqa: E402

GPUS = (("NVIDIA T4", 4e12), ("NVIDIA V100", 10e12), ("NVIDIA A100", 15e12))  # sustained fp32 FLOP/s, assumed
Key = Tuple[str, str]  # (kind, layer)


def duration(seconds: float) -> str:
    """Seconds as minutes under two hours, else hours."""
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def kind_of(kind: str) -> str:
    """How the cost tables name a task kind (``Task.KIND``)."""
    return "visualisation" if kind == "Visualisation" else "fmi"


def calibrate(folders: List[Path]) -> Dict[Key, Tuple[float, float, int]]:
    """Per (kind, layer): mean worker-seconds per job, its mean multiply-adds at most, and how many jobs."""
    seconds, macs = defaultdict(list), defaultdict(list)
    for folder in folders:
        for sidecar in folder.glob("*/result.json"):
            record = JobRecord.read(json.loads(sidecar.read_text()))
            task = record.task
            layers = tuple(task.get("layers") or ())
            if len(layers) != 1:
                continue
            net = vgg.network(task.get("network", "vgg19"))
            batch = max(1, record.sidecar.get("batch_size", 1))
            worker_seconds = record.seconds_per_iteration * record.iterations / batch
            key = (kind_of(task.get("kind", "")), layers[0])
            seconds[key].append(worker_seconds)
            size = task["size"]  # as jobs.job_cost sees a job: square at its size
            macs[key].append(sharding.cost(net, layers, size, size, task["optimise"]["max_iterations"]))
    return {key: (statistics.mean(seconds[key]), statistics.mean(macs[key]), len(seconds[key])) for key in seconds}


def predict(job, model: Dict[Key, Tuple[float, float, int]]) -> float:
    """A job's worker-seconds by the model: its layer's measured rate, else the nearest measured layer's."""
    t = job.task
    kind, layer = kind_of(t.KIND), t.layers_read()[-1]
    measured = [k for k in model if k[0] == kind]
    if not measured:
        raise SystemExit(f"no {kind} jobs in the calibration runs")
    depth = t.net.layer(layer).index
    nearest = min(measured, key=lambda k: (abs(t.net.layer(k[1]).index - depth), k[1]))
    seconds, macs, _ = model[nearest]
    return seconds * jobs.job_cost(job) / macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--calibration", nargs="+", required=True, type=Path)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", type=Path, help="a finished run of the config, to compare with --wall")
    parser.add_argument("--wall", type=float, help="its measured wall time, seconds")
    a = parser.parse_args()
    model = calibrate(a.calibration)
    exp = config.load(Path(a.config))
    every = jobs.expand(exp, "cost")
    seconds = {job.id: predict(job, model) for job in every}
    flops = {job.id: 4 * jobs.job_cost(job) for job in every}
    by_kind = defaultdict(lambda: [0, 0.0, 0.0])
    for job in every:
        row = by_kind[kind_of(job.task.KIND)]
        row[0] += 1
        row[1] += seconds[job.id]
        row[2] += flops[job.id]
    total = sum(seconds.values())
    lines = [f"# What `{a.config}` costs", "",
             f"Calibrated on {sum(n for *_, n in model.values())} finished jobs of "
             f"{', '.join(str(f) for f in a.calibration)} ({len(model)} kinds and layers measured).", "",
             "| jobs | count | worker-hours | TFLOP |", "|---|---|---|---|"]
    lines += [f"| {kind} | {n} | {s / 3600:.1f} | {f / 1e12:.0f} |" for kind, (n, s, f) in sorted(by_kind.items())]
    lines += ["", f"All: {total / 3600:.1f} worker-hours; on this machine with {a.workers} workers "
              f"{duration(total / a.workers)}."]
    if a.shards > 1:
        costs = {job.id: jobs.job_cost(job) for job in every}
        shard_hours = [sum(seconds[j] for j in sharding.shard(costs, k, a.shards)) / 3600 for k in range(1, a.shards + 1)]
        lines += [f"{a.shards} shards (the sweep's cost-balanced split): {min(shard_hours):.2f} to "
                  f"{max(shard_hours):.2f} worker-hours each; on one such worker per shard, {duration(3600 * max(shard_hours))}."]
    lines += ["", "GPUs, on paper (the jobs' FLOPs over an assumed sustained fp32 rate):", "",
              "| GPU | sustained | 1 GPU | 8 GPUs |", "|---|---|---|---|"]
    all_flops = sum(flops.values())
    lines += [f"| {name} | {rate / 1e12:.0f} TFLOP/s | {duration(all_flops / rate)} | {duration(all_flops / rate / 8)} |"
              for name, rate in GPUS]
    if a.check and a.wall:
        from fmi_mx.core.network import weights as weights_module

        done = {p.parent.name for p in a.check.glob("*/result.json")}
        sha = weights_module.resolve(exp.weights, exp.network).sha256  # ids name the weights that ran
        mine = [job for job in jobs.expand(exp, sha) if job.id in done]
        seconds.update({job.id: predict(job, model) for job in mine})
        predicted = sum(seconds[job.id] for job in mine) / a.workers
        lines += ["", f"Check: {len(mine)} finished jobs of {a.check}: predicted {predicted / 60:.1f} min with "
                  f"{a.workers} workers, measured {a.wall / 60:.1f} min ({predicted / a.wall:.2f}x)."]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
