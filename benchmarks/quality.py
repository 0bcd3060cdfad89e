"""``make bench`` (second part): time to the same quality for each optimiser, on seeded random weights.

Per case, the faithful SGD runs to its own stop; its final loss is the target and its optimisation
time the unit. Each other method then runs until its loss is at or below the target (or
``CAP`` times SGD's time): iterations, loss evaluations, time and the ratio to SGD. Last, every method
gets a fixed budget (a third of SGD's time) and the code error it reaches in it is recorded.
Times exclude binding and targets (the same for all methods) and follow a warm-up run.
Run: ``python benchmarks/quality.py [--size 256] [--figure docs/optimisers.png]``.
"""
import argparse
import dataclasses
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple


from fmi_mx.core import tasks
from fmi_mx.core.run.engine import Result, Runner
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.core.network.weights import random_he

from bench import machine

CONTENT = "sample:astronaut"
CASES = (("FMI relu3_2, filter 1", dict(layers=("relu3_2",), mode="feature_map", filter=1)),
         ("FMI relu5_1, filter 1", dict(layers=("relu5_1",), mode="feature_map", filter=1)),
         ("original relu3_1", dict(layers=("relu3_1",), mode="original")))
METHODS = {"lbfgs": Settings.from_flat(method="lbfgs"), "adam": Settings.from_flat(method="adam")}
CAP = 3.0  # a method that has not reached SGD's loss by CAP x SGD's time is stopped there
BUDGET = 1 / 3  # of SGD's time, for the fixed-budget column
GOAL = 1 / 3  # the bar an optimiser must clear: SGD's final loss within a third of SGD's time


def seconds(result: Result) -> float:
    """Optimisation time: the loop's own clock (binding and targets excluded)."""
    return result.outcome.seconds_per_iteration * result.outcome.iterations


def code_error(result: Result) -> float:
    return float(next(iter(result.metrics["code_error"].values())))


def run_case(runner: Runner, task: tasks.Inversion, log: Callable[[str], None]) -> List[Tuple]:
    """Rows (method, reached, iterations, evaluations, seconds, ratio, final loss, budget code error, budget loss)."""
    runner.run(dataclasses.replace(task, optimise=Settings.from_flat(max_iterations=3)))  # warm-up: bind, first calls
    sgd = runner.run(task)
    target, unit = sgd.metrics["final_loss"], seconds(sgd)
    log(f"  sgd: {sgd.outcome.iterations} iterations ({sgd.outcome.stop_reason}), {unit:.1f} s, loss {target:.5g}")
    rows = [("sgd (faithful)", True, sgd.outcome.iterations, sgd.outcome.evaluations, unit, 1.0,
             target, code_error(sgd))]
    for name, settings in METHODS.items():
        s = settings.replace(stop_eps=0.0, stop_loss=float(target), max_iterations=100000,
                                max_seconds=CAP * unit)
        r = runner.run(dataclasses.replace(task, optimise=s))
        reached = r.outcome.stop_reason == "reached_loss"
        rows.append((name, reached, r.outcome.iterations, r.outcome.evaluations, seconds(r), seconds(r) / unit,
                     r.metrics["final_loss"], code_error(r)))
        log(f"  {name}: {'reached' if reached else 'NOT reached'} after {r.outcome.iterations} iterations, "
            f"{seconds(r):.1f} s = {seconds(r) / unit:.2f} of SGD")
    budget = {}
    for name, settings in {"sgd (faithful)": Settings(), **METHODS}.items():
        s = settings.replace(stop_eps=0.0, max_iterations=100000, max_seconds=BUDGET * unit)
        r = runner.run(dataclasses.replace(task, optimise=s))
        budget[name] = (code_error(r), r.metrics["final_loss"], r.outcome.iterations)
    return [row + budget[row[0]] for row in rows]


def table(results: Dict[str, List[Tuple]], size: int) -> str:
    lines = [f"## Time to the same quality ({size} px, content {CONTENT}, seeded random weights)", "",
             "Each method runs until its loss is at or below the faithful SGD's final loss (or "
             f"{CAP:g}x SGD's time). Budget columns: a fixed {BUDGET:.2g} of SGD's time each.", "",
             "| case | method | reached SGD's loss | iterations | evaluations | seconds | time / SGD's | "
             "code error at that point | budget: code error | budget: loss | budget: iterations |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for case, rows in results.items():
        for (name, reached, its, evals, secs, ratio, loss, error, b_error, b_loss, b_its) in rows:
            lines.append(f"| {case} | {name} | {'yes' if reached else 'no'} | {its} | {evals} | {secs:.1f} | "
                         f"{ratio:.2f} | {error:.4f} | {b_error:.4f} | {b_loss:.4g} | {b_its} |")
    met = sum(1 for rows in results.values() for row in rows if row[0] == "lbfgs" and row[1] and row[5] <= GOAL)
    lines += ["", f"L-BFGS reached SGD's loss within {GOAL:.2g} of SGD's time in {met} of {len(results)} cases "
                  f"(goal: at least 2)."]
    return "\n".join(lines) + "\n"


FIGURE_VARIANTS = (("sgd (faithful)", Settings()), ("lbfgs", Settings.from_flat(method="lbfgs")),
                   ("adam", Settings.from_flat(method="adam")), ("lbfgs + TV 1", Settings.from_flat(method="lbfgs", tv_weight=1.0)),
                   ("adam + jitter 4", Settings.from_flat(method="adam", jitter=4, max_iterations=300)))


def figure(runner: Runner, out: Path, size: int = 128, log: Callable[[str], None] = print) -> Path:
    """One FMI (relu3_2, filter 1) by each optimiser and prior: the pictures and loss against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = tasks.Inversion(content=CONTENT, layers=("relu3_2",), mode="feature_map", filter=1, size=size)
    fig = plt.figure(figsize=(1.8 * len(FIGURE_VARIANTS), 5.0), layout="constrained")
    grid = fig.add_gridspec(2, len(FIGURE_VARIANTS), height_ratios=[1, 1.1])
    axes = [fig.add_subplot(grid[0, k]) for k in range(len(FIGURE_VARIANTS))] + [fig.add_subplot(grid[1, :])]
    runner.run(dataclasses.replace(task, optimise=Settings.from_flat(max_iterations=3)))
    for ax, (name, settings) in zip(axes, FIGURE_VARIANTS):
        r = runner.run(dataclasses.replace(task, optimise=settings))
        ax.imshow(r.image)
        ax.set_title(f"{name}\n{r.outcome.iterations} it, {seconds(r):.1f} s", fontsize=8)
        ax.axis("off")
        per = r.outcome.seconds_per_iteration
        axes[-1].plot([u * per for u, _, _ in r.outcome.history], [loss for _, loss, _ in r.outcome.history],
                      label=name)
        log(f"  figure: {name}: {r.outcome.iterations} iterations, {seconds(r):.1f} s")
    axes[-1].set(xlabel="seconds", ylabel="loss (with the prior, if any)", yscale="log")
    axes[-1].legend(fontsize=7)
    fig.suptitle(f"FMI relu3_2 filter 1, {size} px, untrained (seeded random) VGG-19", fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--figure", help="also draw the comparison figure here (128 px)")
    parser.add_argument("--figure-only", action="store_true", help="only the figure")
    a = parser.parse_args(argv)
    runner = Runner(random_he(0))
    if a.figure_only:
        print(figure(runner, Path(a.figure or "docs/optimisers.png")))
        return 0
    results = {}
    for name, fields in CASES:
        print(name)
        results[name] = run_case(runner, tasks.Inversion(content=CONTENT, size=a.size, **fields), print)
    text = table(results, a.size)
    print(text)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{machine()}-time-to-quality.md").write_text(text)
    if a.figure:
        print(figure(runner, Path(a.figure)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
