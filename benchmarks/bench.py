"""``make bench``: time one inversion step (forward + backward + update) of fmi_mx against the
original code's loop and PyTorch eager (``baselines.py``), interleaved in one process, on seeded weights.

Reported per case: median ms per step over interleaved repetitions (A B C A B C ..., after warm-up),
peak memory (what building and running the variant adds to a fresh process's resident set, the
weights' device copies included), achieved GFLOP/s of the useful convolution work (forward +
gradient with respect to the image: twice the forward FLOPs) and that as a fraction of this
machine's ceiling: the best rate MXNet's own kernels reach here (bound chains of four oneDNN 3x3
convolutions at VGG's shapes, forward and with the input's gradient, or a 2048^3 float32 matrix product).
Also one feature visualisation against the FMI of the same filter. Run:
``python benchmarks/bench.py [--size 256]``.
"""
import argparse
import dataclasses
import gc
import os
import platform
import re
import statistics
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from fmi_mx.backend.mx import mx
from fmi_mx.core.network import vgg
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.core.network.weights import Weights, random_he

from baselines import Original, OriginalAsRun, Torch, mxnet_default_threads
from steps import Case, Ours, cases, content_image

VARIANTS = {cls.label: cls for cls in (Ours, Original, Torch)}


#: (batch, channels, side) of the convolution chains the ceiling tries: VGG's own shapes at 256 px and one batched
CEILING_SHAPES = ((1, 128, 128), (1, 256, 64), (8, 256, 64), (1, 512, 32), (4, 512, 32))


def ceiling_gflops(repeats: int = 5) -> float:
    """The best float32 rate MXNet reaches on this machine (best of repeats): bound executors of four 3x3
    convolutions (channels -> channels, no layout changes between them, as in a VGG block) at each of
    ``CEILING_SHAPES``, forward and forward + gradient of the input, and a 2048^3 matrix product."""
    rng = np.random.default_rng(0)
    jobs = []
    for batch, channels, side in CEILING_SHAPES:
        x = mx.sym.Variable("data")
        for i in range(4):
            x = mx.sym.Convolution(x, weight=mx.sym.Variable(f"w{i}"), kernel=(3, 3), pad=(1, 1), num_filter=channels,
                                   no_bias=True, name=f"c{i}")
        args = {"data": mx.nd.array(rng.standard_normal((batch, channels, side, side), dtype=np.float32))}
        args.update({f"w{i}": mx.nd.array(rng.standard_normal((channels, channels, 3, 3), dtype=np.float32) * 0.02)
                     for i in range(4)})
        grads = {"data": mx.nd.zeros((batch, channels, side, side))}
        executor = mx.sym.MakeLoss(mx.sym.sum(x)).bind(mx.cpu(), args, args_grad=grads,
                                                       grad_req={k: "write" if k == "data" else "null" for k in args})
        flops = 4 * 2.0 * batch * channels * channels * 9 * side * side

        def forward(e=executor):
            e.forward(is_train=False)
            e.outputs[0].wait_to_read()

        def both(e=executor):
            e.forward(is_train=True)
            e.backward()
            e.grad_dict["data"].wait_to_read()

        jobs += [(flops, forward), (2 * flops, both)]
    a, b = (mx.nd.array(rng.standard_normal((2048, 2048), dtype=np.float32)) for _ in range(2))
    jobs.append((2.0 * 2048 ** 3, lambda: mx.nd.dot(a, b).wait_to_read()))
    best = 0.0
    for flops, job in jobs:
        job()
        for _ in range(repeats):
            start = time.perf_counter()
            job()
            best = max(best, flops / (time.perf_counter() - start) / 1e9)
    return best


def visualisation_row(size: int = 128, layer: str = "relu4_2", log: Callable[[str], None] = print) -> str:
    """One feature visualisation (Lucid's settings: 512 updates of Adam on a Fourier spectrum through random
    transforms) against the FMI of the same filter (the original's SGD to its stop), seeded VGG-16."""
    from fmi_mx.core.run.engine import Runner
    from fmi_mx.core.tasks import Inversion, Visualisation

    runner = Runner(random_he(0, "vgg16"))
    timed = {}
    for name, task in (("visualisation", Visualisation(layers=(layer,), filter=5, size=size, network="vgg16")),
                       ("FMI", Inversion(content="sample:astronaut", layers=(layer,), mode="feature_map", filter=5,
                                         size=size, network="vgg16"))):
        runner.run(dataclasses.replace(task, optimise=task.optimise.replace(max_iterations=3)))  # bind and warm
        start = time.perf_counter()
        result = runner.run(task)
        timed[name] = (time.perf_counter() - start, result.outcome.iterations)
    log(f"visualisation {timed['visualisation'][0]:.1f} s, FMI {timed['FMI'][0]:.1f} s")
    (vs, vi), (fs, fi) = timed["visualisation"], timed["FMI"]
    return (f"\n## Feature visualisation against FMI ({size} px, {layer}, filter 5, seeded VGG-16)\n\n"
            "| what | updates | seconds | ms/update |\n|---|---|---|---|\n"
            f"| visualisation (Lucid's settings) | {vi} | {vs:.1f} | {vs / vi * 1e3:.0f} |\n"
            f"| FMI (the original's SGD) | {fi} | {fs:.1f} | {fs / fi * 1e3:.0f} |\n"
            f"\nThe visualisation takes {vs / fs:.1f}x the FMI's time.\n")


def _peak_child(conn, variant: str, case: Case, size: int) -> None:
    weights = random_he(0)
    content = content_image(size)
    cls = VARIANTS[variant]  # the original's peak: "our threads" row
    if cls is Torch:
        import torch  # noqa: F401  (its import is not the step's memory)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current resident set
    before = _status_mb("VmRSS")
    v = cls(weights, case, content)
    for _ in range(2):
        v.step()
    conn.send(_status_mb("VmHWM") - before)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb(variant: str, case: Case, size: int) -> float:
    """Peak resident memory a variant adds, measured alone in a fresh process (weights included)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=_peak_child, args=(theirs, variant, case, size))
    process.start()
    value = ours.recv() if ours.poll(600) else float("nan")  # nan where /proc is missing
    process.join()
    return value


def measure(case: Case, weights: Weights, content: np.ndarray, variants, repeats: int, warmup: int = 3):
    """Median seconds per step of each (variant, batch size), interleaved after warm-up."""
    built = [cls(weights, dataclasses.replace(case, batch=b), content) for cls, b in variants]
    for v in built:
        for _ in range(warmup):
            v.step()
    times = [[] for _ in built]
    for _ in range(repeats):
        for i, v in enumerate(built):
            start = time.perf_counter()
            v.step()
            times[i].append(getattr(v, "last", None) or time.perf_counter() - start)
    result = [(v.label, b, statistics.median(t)) for (_, b), v, t in zip(variants, built, times)]
    for v in built:
        getattr(v, "close", lambda: None)()
    del built
    gc.collect()  # the next case starts without this one's executors
    return result


def run(size: int = 256, repeats: int = 7, out_dir: Optional[Path] = Path("benchmarks/results"),
        log: Callable[[str], None] = print) -> str:
    """Run every case; print and write the table to benchmarks/results/<machine>.md."""
    weights = random_he(0)
    content = content_image(size)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        log("PyTorch is not installed: its baseline is skipped (pip install -e .[bench])")
    gemm = ceiling_gflops()
    rows = []
    for case in cases(size):
        variants = [(Ours, b) for b in case.our_batches] + [(OriginalAsRun, 1), (Original, 1)]
        variants += [(Torch, 1)] if have_torch else []
        flops = 2 * 2 * vgg.VGG19.conv_macs([t.layer for t in case.terms], size, size)  # per image: forward + image gradient
        results = measure(case, weights, content, variants, repeats)
        base = {label: seconds for label, b, seconds in results if b == 1}  # per image, batch 1
        for label, batch, seconds in results:
            per_image = seconds / batch
            peak = (peak_mb(label, dataclasses.replace(case, batch=batch), size)
                    if label != OriginalAsRun.label else float("nan"))
            rate = flops / per_image / 1e9
            rows.append((case.name, batch, label, seconds * 1e3, per_image * 1e3, peak, rate, rate / gemm,
                         base.get("original loop", float("nan")) / per_image,
                         per_image / base.get("PyTorch eager", float("nan"))))
        log(f"{case.name}: " + ", ".join(f"{label} B={b} {s * 1e3:.0f} ms" for label, b, s in results))
    table = _table(rows, size, repeats, gemm) + small_images(weights, repeats, gemm, log) + visualisation_row(log=log)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{machine()}.md").write_text(table)
    return table


SMALL_SIZES = (64, 128)
SMALL_BATCHES = (1, 4, 8, 16)


def small_images(weights: Weights, repeats: int, gemm: float, log: Callable[[str], None] = print) -> str:
    """The atlas's case: FMI at relu2_2 on small images, per-image step time at several batch sizes."""
    case = Case("FMI relu2_2", (CodeTerm("relu2_2"),), fmi_filter=1)
    lines = ["\n## Small images, batched (atlas sizes)\n\nFMI at relu2_2, fmi_mx's step, batch sizes interleaved "
             f"in one measurement (median of {repeats}); time per image relative to batch 1.\n\n"
             "| size | B | ms/step | ms/image | per image vs B=1 | GFLOP/s | of ceiling |\n|---|---|---|---|---|---|---|\n"]
    for size in SMALL_SIZES:
        results = measure(case, weights, content_image(size), [(Ours, b) for b in SMALL_BATCHES], repeats)
        flops = 2 * 2 * vgg.VGG19.conv_macs(["relu2_2"], size, size)
        one = results[0][2]
        for _, b, seconds in results:
            rate = flops * b / seconds / 1e9
            lines.append(f"| {size} | {b} | {seconds * 1e3:.1f} | {seconds / b * 1e3:.2f} | {seconds / b / one:.2f} | "
                         f"{rate:.1f} | {rate / gemm:.0%} |\n")
        log(f"{size} px: " + ", ".join(f"B={b} {s / b * 1e3:.2f} ms/image" for _, b, s in results))
    return "".join(lines)


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1] for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return re.sub(r"[^a-z0-9]+", "-", f"{model} {os.cpu_count()} cores".lower()).strip("-")


def publish(text: str, out: str, kind: str) -> Path:
    """Print a result and write it to ``<out>/<machine>-<kind>.md``."""
    print(text)
    path = Path(out) / f"{machine()}-{kind}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _table(rows, size: int, repeats: int, gemm: float) -> str:
    head = (f"# fmi-mx bench on {machine()}\n\n{size} px, seeded random VGG-19, median of {repeats} interleaved "
            f"steps after 3 warm-up steps; mxnet {mx.__version__}, {os.cpu_count()} cores; ceiling (the best float32 "
            f"rate MXNet reaches here: bound oneDNN convolution chains at VGG's shapes, or GEMM) {gemm:.1f} GFLOP/s.\n"
            f"GFLOP/s counts the useful convolution work (forward + gradient of the image). "
            f"fmi_mx and PyTorch use {os.environ.get('MXNET_OMP_MAX_THREADS') or os.environ.get('OMP_NUM_THREADS')} "
            f"threads; \"original loop\" runs in its own process with MXNet's default pool "
            f"({mxnet_default_threads()} threads here), \"original loop, our threads\" in ours.\n\n"
            "Speed-up and time ratios compare time per image with the batch-1 baselines.\n\n"
            "| case | B | variant | ms/step | ms/image | peak MB | GFLOP/s | of ceiling | speed-up vs original | "
            "time vs PyTorch |\n|---|---|---|---|---|---|---|---|---|---|\n")
    fmt = lambda v, f: "" if v != v else format(v, f)  # noqa: E731  (NaN -> blank)
    body = "".join(f"| {c} | {b} | {label} | {ms:.0f} | {per:.0f} | {fmt(peak, '.0f')} | {rate:.1f} | {frac:.0%} | "
                   f"{fmt(speed, '.2f')} | {fmt(vs, '.2f')} |\n"
                   for c, b, label, ms, per, peak, rate, frac, speed, vs in rows)
    return head + body


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    a = parser.parse_args(argv)
    print(run(a.size, a.repeats, Path(a.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
