"""Where a step's time goes: oneDNN's own per-primitive timings (its verbose mode) for fmi_mx's step and
PyTorch eager's, per case, beside the step's wall time without logging.

Each case and variant runs in a fresh process twice: once with oneDNN's verbose mode on (every primitive
it executes, with its kind and milliseconds, summed over the measured steps) and once without (the wall
time per step, since logging itself costs time). "not in oneDNN" is the wall time minus the primitives'
time: MXNet's or PyTorch's own operators (the loss heads' element-wise work, the update) and dispatch.
Run: ``python benchmarks/where_time_goes.py [--size 256] [--steps 5]``; writes
``benchmarks/results/<machine>-time.md``.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
VERBOSE = {"DNNL_VERBOSE": "1", "ONEDNN_VERBOSE": "1", "MKLDNN_VERBOSE": "1"}


def _child(case_name: str, variant: str, size: int, steps: int) -> None:
    """Build one variant of one case, warm it up, time ``steps`` steps; print the time as the last line."""
    sys.path.insert(0, str(HERE))
    from fmi_mx.core.network.weights import random_he
    from baselines import Torch
    from steps import Ours, cases, content_image

    case = next(c for c in cases(size) if c.name == case_name)
    runner = {"fmi_mx": Ours, "PyTorch eager": Torch}[variant](random_he(0), case, content_image(size))
    for _ in range(2):
        runner.step()
    print("@@measure", flush=True)
    start = time.perf_counter()
    for _ in range(steps):
        runner.step()
    seconds = (time.perf_counter() - start) / steps
    print("@@seconds " + json.dumps(seconds), flush=True)


def parse(lines: List[str], steps: int) -> Tuple[Dict[str, float], int]:
    """ms per step by primitive kind (convolutions split by direction) and reorders per step, from the
    verbose lines printed after the warm-up."""
    ms: Dict[str, float] = collections.defaultdict(float)
    reorders = 0
    for line in lines:
        fields = line.strip().split(",")
        if "exec" not in fields or not fields[0].endswith("_verbose"):
            continue
        at = fields.index("exec")
        kind = fields[at + 2]
        direction = next((f for f in fields[at + 3:at + 6] if "forward" in f or "backward" in f), "")
        if kind == "convolution":
            kind = f"convolution {direction.replace('_training', '').replace('_inference', '')}"
        try:
            ms[kind] += float(fields[-1]) / steps
        except ValueError:
            continue
        reorders += kind == "reorder"
    return dict(ms), reorders // steps


def measure(case_name: str, variant: str, size: int, steps: int) -> dict:
    def run(env: dict) -> List[str]:
        argv = [sys.executable, __file__, "--child", json.dumps([case_name, variant, size, steps])]
        done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, cwd=HERE)
        if done.returncode != 0:
            raise RuntimeError(f"{case_name} {variant}: {done.stderr.strip().splitlines()[-1:]}")
        lines = done.stdout.splitlines()
        return lines[lines.index("@@measure") + 1:]

    quiet = run({})
    seconds = json.loads(quiet[-1].split(" ", 1)[1])
    by_kind, reorders = parse(run(VERBOSE), steps)
    return {"wall_ms": seconds * 1e3, "by_kind": by_kind, "reorders": reorders}


def table(results: Dict[Tuple[str, str], dict], size: int, steps: int) -> str:
    kinds = sorted({k for r in results.values() for k in r["by_kind"]},
                   key=lambda k: -max(r["by_kind"].get(k, 0.0) for r in results.values()))
    lines = [f"## Where a step's time goes ({size} px, seeded VGG-19, batch 1, {steps} steps after 2 warm-up steps)\n",
             "ms per step; primitives as oneDNN's verbose mode times them; wall time measured without logging.\n",
             "| case | variant | wall ms | " + " | ".join(kinds) + " | not in oneDNN | reorders per step |",
             "|---|---|---|" + "---|" * len(kinds) + "---|---|"]
    for (case, variant), r in results.items():
        inside = sum(r["by_kind"].values())
        cells = [f"{r['by_kind'].get(k, 0.0):.1f}" for k in kinds]
        lines.append(f"| {case} | {variant} | {r['wall_ms']:.0f} | " + " | ".join(cells) +
                     f" | {max(r['wall_ms'] - inside, 0.0):.0f} | {r['reorders']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--cases", default="FMI relu3_2;PMCI, 5 style layers", help="case names, ';' between")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    a = parser.parse_args(argv)
    if a.child:
        _child(*json.loads(a.child))
        return 0
    sys.path.insert(0, str(HERE))
    from bench import publish

    try:
        import torch  # noqa: F401
        variants = ["fmi_mx", "PyTorch eager"]
    except ImportError:
        variants = ["fmi_mx"]
        print("PyTorch is not installed: only fmi_mx's step is measured")
    results = {}
    for case in a.cases.split(";"):
        for variant in variants:
            results[case, variant] = measure(case, variant, a.size, a.steps)
            print(f"{case}, {variant}: {results[case, variant]['wall_ms']:.0f} ms", flush=True)
    text = table(results, a.size, a.steps)
    publish(text, a.out, "time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
