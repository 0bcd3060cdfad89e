"""Continuous batching against today's batches: jobs per minute for an atlas layer at 64 and 128 px.

Each case sweeps FMIs of relu3_2 filters from three of scikit-image's pictures (the trained VGG-16 when
``models/vgg16.params`` is there, else seeded random weights) on two 1-thread CPU workers in batches of 4,
as the atlas demos run: once with ``continuous: false`` (a batch runs until its slowest sample stops) and
once with ``continuous: true`` (a stopped sample's slot takes the next job at once), each from scratch.
Run: ``python benchmarks/continuous.py``; writes ``benchmarks/results/<machine>-continuous.md``.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TRAINED = REPO / "models" / "vgg16.params"
#: (size, filters) per case: the 128 px case is smaller so that both fit in a quarter of an hour
CASES: Tuple[Tuple[int, str], ...] = ((64, "0-15"), (128, "0-7"))


def config(size: int, filters: str, weights: str) -> str:
    return "\n".join([
        "name: continuous-bench", "network: vgg16", f"weights: {weights}", f"size: {size}", "device: cpu,cpu",
        "batch_size: 4", "panels:", "  - mode: feature_map",
        "    contents: [sample:astronaut, sample:chelsea, sample:coffee]", "    layers: [relu3_2]",
        f"    filters: {filters}", ""])


def sweep(path: Path, continuous: bool, root: Path) -> Dict[str, object]:
    argv = [sys.executable, "-m", "fmi_mx.cli", "run", str(path), "--runs", str(root),
            "--set", f"continuous={str(continuous).lower()}"]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    records = [json.loads(p.read_text()) for p in (root / "continuous-bench").glob("*/result.json")]
    updates = [r["iterations"] for r in records]
    return {"seconds": seconds, "jobs": len(records), "spread": f"{min(updates)}-{max(updates)}"}


def main(argv=None) -> int:
    sys.path.insert(0, str(HERE))
    from bench import publish

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results"))
    a = parser.parse_args(argv)
    weights = str(TRAINED) if TRAINED.exists() else "random:0"
    lines = ["## Continuous batching (atlas layer relu3_2, three pictures, two 1-thread CPU workers, batches of 4)\n",
             f"Weights: {'trained VGG-16' if TRAINED.exists() else 'seeded random VGG-16'}; each run from "
             "scratch, one after the other.\n",
             "| size | FMIs | updates per job | batches: jobs/min | continuous: jobs/min | speed-up |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for size, filters in CASES:
            path = Path(tmp) / f"continuous-{size}.yaml"
            path.write_text(config(size, filters, weights))
            runs = {flag: sweep(path, flag, Path(tmp) / f"{size}-{flag}") for flag in (False, True)}
            rate = {flag: r["jobs"] / r["seconds"] * 60 for flag, r in runs.items()}
            lines.append(f"| {size} px | {runs[False]['jobs']} | {runs[False]['spread']} | {rate[False]:.1f} | "
                         f"{rate[True]:.1f} | {rate[True] / rate[False]:.2f}x |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    publish(text, a.out, "continuous")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
