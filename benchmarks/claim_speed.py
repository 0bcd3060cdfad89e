"""The claim demo end to end, the faithful way and the throughput ways, side by side on this machine.

Each variant runs ``experiments/claim-demo.yaml`` from scratch in its own folder (``--set`` overrides only),
one after the other, and reports its wall time, jobs per minute, its speed against the faithful run, and
each layer's identity accuracy per weight set beside the faithful run's 95% bootstrap interval (does the
score hold?). Run: ``python benchmarks/claim_speed.py [--variants faithful,throughput] [--keep runs]``;
writes ``benchmarks/results/<machine>-claim.md``; ``--keep`` moves the faithful run into that runs folder.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIG = REPO / "experiments" / "claim-demo.yaml"
#: name -> the config overrides that make it
#: continuous batching streams SGD and Adam only (L-BFGS needs a whole batch per line search), so "L-BFGS
#: with continuous batching" is the throughput setting itself: L-BFGS for 50 updates (40 misranked a pair)
VARIANTS: Dict[str, List[str]] = {
    "faithful": [],
    "continuous": ["continuous=true"],
    "throughput": ["throughput=true"],
    "lbfgs25": ["optimise.method=lbfgs", "optimise.max_iterations=25"],
    "lbfgs30": ["optimise.method=lbfgs", "optimise.max_iterations=30"],
    "lbfgs40": ["optimise.method=lbfgs", "optimise.max_iterations=40"],
    "lbfgs60": ["optimise.method=lbfgs", "optimise.max_iterations=60"],
}


def run_variant(name: str, overrides: List[str], root: Path) -> dict:
    """One claim run in ``root``: its wall time and its claim.json."""
    argv = [sys.executable, "-m", "fmi_mx.cli", "claim", str(CONFIG), "--runs", str(root)]
    for override in overrides:
        argv += ["--set", override]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    claim = json.loads((root / "claim-demo" / "claim.json").read_text())
    jobs = len(list((root / "claim-demo").glob("*/*/result.json")))
    return {"seconds": seconds, "jobs": jobs, "rows": claim["rows"]}


def table(results: Dict[str, dict]) -> str:
    faithful = results["faithful"]
    base = {(r["set"], r["layer"]): r for r in faithful["rows"]}
    lines = [f"## The claim demo end to end ({faithful['jobs']} FMIs, experiments/claim-demo.yaml)\n",
             "One run after the other on this machine, each from scratch; accuracy: identity accuracy with the "
             "inverted network's own descriptors, the faithful run's 95% bootstrap interval in brackets.\n",
             "| variant | overrides | wall time | jobs/min | speed vs faithful | accuracies inside the faithful "
             "intervals |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        inside = [_inside(row, base[row["set"], row["layer"]]) for row in r["rows"]]
        lines.append(f"| {name} | `{' '.join(VARIANTS[name]) or '(none)'}` | {r['seconds'] / 60:.1f} min | "
                     f"{r['jobs'] / r['seconds'] * 60:.1f} | {faithful['seconds'] / r['seconds']:.2f}x | "
                     f"{sum(inside)} of {len(inside)} |")
    lines += ["", "| set | layer | faithful [95% CI] | " + " | ".join(n for n in results if n != "faithful") + " |",
              "|---|---|---|" + "---|" * (len(results) - 1)]
    for key, row in base.items():
        cells = []
        for name, r in results.items():
            if name != "faithful":
                other = next(o for o in r["rows"] if (o["set"], o["layer"]) == key)
                cells.append(f"{other['own_accuracy']:.3f}{'' if _inside(other, row) else ' (outside)'}")
        lines.append(f"| {key[0]} | {key[1]} | {row['own_accuracy']:.3f} [{row['own_accuracy_low']:.3f}, "
                     f"{row['own_accuracy_high']:.3f}] | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _inside(row: dict, base: dict) -> bool:
    return base["own_accuracy_low"] - 1e-9 <= row["own_accuracy"] <= base["own_accuracy_high"] + 1e-9


def main(argv=None) -> int:
    from bench import publish

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--keep", help="a runs folder to move the faithful run into (its claim-demo/ is replaced)")
    a = parser.parse_args(argv)
    names = ["faithful"] + [n for n in a.variants.split(",") if n != "faithful"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            root = Path(tmp) / name
            results[name] = run_variant(name, VARIANTS[name], root)
            print(f"{name}: {results[name]['seconds'] / 60:.1f} min", flush=True)
            if name == "faithful" and a.keep:
                kept = Path(a.keep) / "claim-demo"
                shutil.rmtree(kept, ignore_errors=True)
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(root / "claim-demo"), str(kept))
            shutil.rmtree(root, ignore_errors=True)
    text = table(results)
    publish(text, a.out, "claim")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
