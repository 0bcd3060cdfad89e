"""``make bench`` (third part): a worker's memory against its budget, and a partial batch padded or bound.

1. One worker (a ``Runner`` with ``max_memory``) runs FMI jobs over several layers, in a fresh process:
   its peak resident memory above what the interpreter, MXNet and the host copy of the weights take
   before the first job, next to the budget, with the executors kept and released.
2. A partial last batch (n of B samples) run in the B executor already bound (padded, the rest frozen)
   against binding an executor of batch n: seconds for each, and what the engine's rule chooses.
Run: ``python benchmarks/worker_memory.py [--size 128]``.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

from fmi_mx.core.run import memory
from fmi_mx.core import tasks
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.core.run.graphkey import GraphKey
from fmi_mx.core.network.vgg import VGG19

from bench import machine

LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")  # figure 3's rows
MB = 2 ** 20


def task(layer: str, size: int, filter_index: int = 0, iterations: int = 5) -> tasks.Inversion:
    return tasks.Inversion(content="sample:astronaut", layers=(layer,), mode="feature_map", filter=filter_index,
                           size=size, optimise=Settings.from_flat(max_iterations=iterations, stop_eps=0.0))


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def worker_peak(size: int, budget: Optional[float], layers: Sequence[str], batch: int) -> dict:
    """In this (fresh) process, after a 16 px job has loaded the libraries: resident memory then, the peak
    during the jobs above it, the executors."""
    from fmi_mx.core.run.engine import Runner
    from fmi_mx.core.network.weights import random_he

    runner = Runner(random_he(0), max_memory=budget)
    runner.run(task(layers[0], 16, iterations=1))  # loads what the first job loads (libraries, OpenMP)
    runner.graphs.clear()
    released, released_bytes = runner.graphs.released, runner.graphs.released_bytes
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from here
    base = status_mb("VmRSS")
    for layer in layers:
        runner.run_batch([task(layer, size, k) for k in range(batch)])
    return {"base_mb": base, "peak_mb": status_mb("VmHWM") - base, "kept": len(runner.graphs),
            "released": runner.graphs.released - released,
            "released_mb": (runner.graphs.released_bytes - released_bytes) / MB,
            "estimate_peak_mb": runner.graphs.peak / MB}


def measure_peak(size: int, budget: Optional[float], layers: Sequence[str], batch: int) -> dict:
    """``worker_peak`` in a new interpreter (a subprocess, not multiprocessing: nothing of the caller's
    state, signal mask included, leaks in or out)."""
    args = [sys.executable, __file__, "--peak", json.dumps([size, budget, list(layers), batch])]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def padding_or_binding(size: int, layer: str, full: int, partial: int, iterations: int) -> List[tuple]:
    """Seconds for a partial batch: padded into the bound full executor, or in a newly bound one."""
    from fmi_mx.core.run.engine import Runner
    from fmi_mx.core.network.weights import random_he

    rows = []
    for how in ("padded", "bound"):
        runner = Runner(random_he(0))
        runner.run_batch([task(layer, size, k, iterations) for k in range(full)])  # the full batch before it
        family = next(iter(runner._last_run))
        runner._last_run[family] = (0.0, 0) if how == "padded" else (float("inf"), 1)  # force one or the other
        start = time.perf_counter()
        results = runner.run_batch([task(layer, size, k, iterations) for k in range(partial)])
        seconds = time.perf_counter() - start
        rows.append((how, results[0].batch_info["batch_size"], seconds, len(runner.graphs)))
    runner = Runner(random_he(0))
    runner.run_batch([task(layer, size, k, iterations) for k in range(full)])
    chosen = runner.run_batch([task(layer, size, k, iterations) for k in range(partial)])[0].batch_info
    rows.append(("the rule chose", chosen["batch_size"], float("nan"), len(runner.graphs)))
    return rows


def run(size: int = 128, batch: int = 4, out_dir: Optional[Path] = Path("benchmarks/results")) -> str:
    shape = (batch, 3, size, size)
    largest = max(memory.estimate(VGG19, GraphKey((CodeTerm(name),), shape[1:], "avg", batch=shape[0]))
                  for name in LAYERS) \
        + memory.weight_bytes(VGG19, LAYERS)
    lines = [f"## Memory of one worker ({size} px, batches of {batch}, FMI at {', '.join(LAYERS)})", "",
             "Peak resident memory above the process before its first job (interpreter, MXNet, the host "
             "copy of the weights), next to the budget.", "",
             "| budget (MB) | peak above the start (MB) | estimate at most (MB) | executors kept | released (their estimate, MB) |",
             "|---|---|---|---|---|"]
    for budget in (None, 4096.0, largest / MB * 1.02):
        r = measure_peak(size, budget, LAYERS, batch)
        lines.append(f"| {'none' if budget is None else f'{budget:.0f}'} | {r['peak_mb']:.0f} | "
                     f"{r['estimate_peak_mb']:.0f} | {r['kept']} | {r['released']} ({r['released_mb']:.0f}) |")
        print(lines[-1], flush=True)
    lines += ["", f"Start of the process: {r['base_mb']:.0f} MB.", "",
              f"## A partial batch (3 of 8 at {size} px, relu2_2, 50 updates)", "",
              "| how | executor batch | seconds | executors kept |", "|---|---|---|---|"]
    for how, executor, seconds, kept in padding_or_binding(size, "relu2_2", 8, 3, 50):
        lines.append(f"| {how} | {executor} | {seconds:.2f} | {kept} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{machine()}-memory.md").write_text(text)
    return text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--peak", help=argparse.SUPPRESS)  # JSON [size, budget, layers, batch]: one measurement
    a = parser.parse_args(argv)
    if a.peak:
        print(json.dumps(worker_peak(*json.loads(a.peak))))
        return 0
    print(run(a.size, out_dir=Path(a.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
