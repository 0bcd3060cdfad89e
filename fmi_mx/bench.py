"""``fmi-mx bench`` / ``make bench``: time one inversion step (forward + backward + update) of ours
against the original code's loop and PyTorch eager, interleaved in one process, on seeded weights.

Reported per case: median ms per step over interleaved repetitions (A B C A B C ..., after warm-up),
peak memory (what building and running the variant adds to a fresh process's resident set, the
weights' device copies included), achieved GFLOP/s of the
useful convolution work (forward + gradient with respect to the image: twice the forward FLOPs)
and that as a fraction of this machine's float32 GEMM rate (numpy, 2048^3).
"""
import dataclasses
import gc
import os
import platform
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import codes, vgg
from ._mx import mx
from .graph import LossGraph
from .losses import Term
from .optimise import SGD, Settings, initial_image, learning_rate
from .weights import Weights, random_he

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class Case:
    name: str
    terms: Tuple[Term, ...]
    batch: int = 1
    our_batches: Tuple[int, ...] = (1,)  # ours at each batch size; the baselines at 1, as they were written
    fmi_filter: Optional[int] = None  # code terms target this filter's FMI code; None: the content code


def cases(size: int) -> List[Case]:
    pmci = (Term("code", "relu2_2", 10.0 / ((size // 2) ** 2)),) + tuple(Term("channel_sum", n) for n in STYLE_LAYERS)
    return [Case("FMI relu5_1", (Term("code", "relu5_1"),), our_batches=(1, 5), fmi_filter=1),
            Case("FMI relu3_2", (Term("code", "relu3_2"),), our_batches=(1, 5), fmi_filter=1),
            Case("PMCI, 5 style layers", pmci)]


def conv_flops(layers: Sequence[str], height: int, width: int) -> float:
    """Forward multiply-adds x 2 of the convolutions up to the deepest layer, one image."""
    deepest = max(vgg.layer(n).index for n in layers)
    total, c_in = 0.0, 3
    for spec in vgg.LAYERS[: deepest + 1]:
        if spec.kind == "conv":
            _, h, w = vgg.output_shape(spec.name, height, width)
            total += 2.0 * c_in * spec.channels * 9 * h * w
            c_in = spec.channels
    return total


def gemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply rate through numpy's BLAS."""
    a, b = (np.random.default_rng(i).standard_normal((n, n), dtype=np.float32) for i in (0, 1))
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2.0 * n ** 3 / min(times) / 1e9


def _targets(case: Case, graph_codes: Dict[str, np.ndarray]) -> List[np.ndarray]:
    """Each term's target for every image of the batch."""
    def one(term: Term, code: np.ndarray) -> np.ndarray:
        if term.kind == "code" and case.fmi_filter is not None:
            return codes.feature_map(code, case.fmi_filter)
        return term.target(code)

    return [np.stack([one(t, c) for c in graph_codes[t.layer]]) for t in case.terms]


class Ours:
    """The package's step: loss in the graph, image gradient only, preallocated SGD state."""

    label = "fmi_mx"

    def __init__(self, weights: Weights, case: Case, content: np.ndarray):
        shape = (case.batch,) + content.shape[1:]
        self.graph = LossGraph(weights, case.terms, shape)
        x = np.repeat(content, case.batch, axis=0)
        self.graph.set_targets(_targets(case, self.graph.codes(x)))
        self.graph.data[:] = initial_image(shape, 0, Settings())
        self.sgd, self.update = SGD(self.graph, Settings(stop_eps=0.0)), 0

    def step(self) -> None:
        self.update += 1
        self.sgd.step(self.update)


class Original:
    """The authors' loop as written (run here with our thread pool): every weight gets a gradient, the loss gradient is fed as a head
    gradient built from a fresh target array each iteration, the relative change is read back
    every iteration with a copy of the old image, and mx.optimizer.SGD does the update."""

    label = "original loop, our threads"

    def __init__(self, weights: Weights, case: Case, content: np.ndarray):
        feats = vgg.features([t.layer for t in case.terms])
        self.symbol = mx.sym.Group([feats[t.layer] for t in case.terms])
        shapes = {"data": content.shape}
        self.exe = self.symbol.simple_bind(mx.cpu(), grad_req="write", **shapes)
        for name, array in self.exe.arg_dict.items():
            if name != "data":
                array[:] = weights.arrays[name]
        self.exe.arg_dict["data"][:] = content
        self.exe.forward(is_train=False)
        self.case = case
        self.targets = [t[0] for t in _targets(case, {t.layer: o.asnumpy() for t, o in zip(case.terms, self.exe.outputs)})]
        self.img = self.exe.arg_dict["data"]
        self.img[:] = initial_image(content.shape, 0, Settings())
        s = Settings()
        self.optimizer = mx.optimizer.SGD(learning_rate=s.learning_rate, momentum=s.momentum, wd=s.weight_decay,
                                          clip_gradient=s.clip_gradient,
                                          lr_scheduler=mx.lr_scheduler.FactorScheduler(step=s.lr_step, factor=s.lr_factor,
                                                                                        base_lr=s.learning_rate))
        self.state = self.optimizer.create_state(0, self.img)

    def step(self) -> None:
        old = self.img.copy()
        self.exe.forward(is_train=True)
        heads = []
        for term, out, target in zip(self.case.terms, self.exe.outputs, self.targets):
            if term.kind == "code":
                heads.append(term.weight * (out - mx.nd.array(target[None])))
            else:  # channel sums: d/dF of ||F1 - t||^2 / (2CM), broadcast over positions
                c, h, w = out.shape[1:]
                diff = mx.nd.sum(out, axis=(2, 3)) - mx.nd.array(target[None])
                heads.append(mx.nd.broadcast_to((term.weight / (c * h * w) * diff).reshape((1, c, 1, 1)), out.shape))
        self.exe.backward(heads)
        self.optimizer.update(0, self.img, self.exe.grad_dict["data"], self.state)
        (mx.nd.norm(self.img - old) / mx.nd.norm(self.img)).asscalar()


class Torch:
    """The same step in PyTorch eager on the CPU, same weights, image gradient only."""

    label = "PyTorch eager"

    def __init__(self, weights: Weights, case: Case, content: np.ndarray):
        import torch

        self.torch = torch
        self.params = {k: torch.from_numpy(v) for k, v in weights.arrays.items()}
        self.case = case
        self.deepest = max(vgg.layer(t.layer).index for t in case.terms)
        with torch.no_grad():
            feats = self._forward(torch.from_numpy(content))
        self.targets = [torch.from_numpy(t) for t in _targets(case, {k: v.numpy() for k, v in feats.items()})]
        self.x = torch.from_numpy(initial_image(content.shape, 0, Settings())).requires_grad_(True)
        self.mom = torch.zeros_like(self.x)
        self.update = 0

    def _forward(self, x):
        F = self.torch.nn.functional
        out, wanted = {}, {t.layer for t in self.case.terms}
        for spec in vgg.LAYERS[: self.deepest + 1]:
            if spec.kind == "conv":
                x = F.conv2d(x, self.params[f"{spec.name}_weight"], self.params[f"{spec.name}_bias"], padding=1)
            elif spec.kind == "relu":
                x = F.relu(x)
            else:
                x = F.avg_pool2d(x, 2)
            if spec.name in wanted:
                out[spec.name] = x
        return out

    def step(self) -> None:
        torch, s = self.torch, Settings()
        self.update += 1
        feats = self._forward(self.x)
        loss = 0
        for term, target in zip(self.case.terms, self.targets):
            f = feats[term.layer]
            if term.kind == "code":
                loss = loss + 0.5 * term.weight * ((f - target) ** 2).sum()
            else:
                c, m = f.shape[1], f.shape[2] * f.shape[3]
                loss = loss + term.weight / (2 * c * m) * ((f.sum(dim=(2, 3)) - target) ** 2).sum()
        grad, = torch.autograd.grad(loss, self.x)
        with torch.no_grad():
            lr = learning_rate(self.update, s)
            self.mom.mul_(s.momentum).sub_(lr * (grad.clamp(-s.clip_gradient, s.clip_gradient) + s.weight_decay * self.x))
            self.x.add_(self.mom)
            (self.mom.norm() / self.x.norm()).item()


def _remote_child(conn, variant: str, case: Case, size: int) -> None:
    """A variant in its own process, stepping on command: the original loop with MXNet's own threads."""
    v = {cls.label: cls for cls in (Ours, Original, Torch)}[variant](random_he(0), case, _content(size))
    conn.send("ready")
    while conn.recv():
        start = time.perf_counter()
        v.step()
        conn.send(time.perf_counter() - start)


def mxnet_default_threads() -> int:
    """The OpenMP pool MXNet 1.9.1 chooses by itself: half the logical CPUs on x86 (it assumes
    hyperthreading), all of them elsewhere."""
    cpus = os.cpu_count() or 1
    return max(1, cpus // 2) if platform.machine().lower() in ("x86_64", "amd64", "i686") else cpus


class OriginalAsRun:
    """The original loop as it ran: in its own process, with MXNet's default thread pool."""

    label = "original loop"

    def __init__(self, weights: Weights, case: Case, content: np.ndarray):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_remote_child, daemon=True,
                                   args=(theirs, Original.label, case, content.shape[-1]))
        ours = os.environ.get("MXNET_OMP_MAX_THREADS")
        os.environ["MXNET_OMP_MAX_THREADS"] = str(mxnet_default_threads())  # the child inherits it at start,
        try:                                                                 # before it imports MXNet
            self.process.start()
        finally:
            os.environ.pop("MXNET_OMP_MAX_THREADS")
            if ours is not None:
                os.environ["MXNET_OMP_MAX_THREADS"] = ours
        self.conn.recv()
        self.last = 0.0

    def step(self) -> None:
        self.conn.send(True)
        self.last = self.conn.recv()

    def close(self) -> None:
        self.conn.send(False)
        self.process.join()


def _peak_child(conn, variant: str, case: Case, size: int) -> None:
    weights = random_he(0)
    content = _content(size)
    cls = {cls.label: cls for cls in (Ours, Original, Torch)}[variant]  # the original's peak: "our threads" row
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


def _content(size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-100, 100, (1, 3, size, size)).astype(np.float32)


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
    content = _content(size)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        log("PyTorch is not installed: its baseline is skipped (pip install -e .[bench])")
    gemm = gemm_gflops()
    rows = []
    for case in cases(size):
        variants = [(Ours, b) for b in case.our_batches] + [(OriginalAsRun, 1), (Original, 1)]
        variants += [(Torch, 1)] if have_torch else []
        flops = 2 * conv_flops([t.layer for t in case.terms], size, size)  # per image
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
    table = _table(rows, size, repeats, gemm)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{machine()}.md").write_text(table)
    return table


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1] for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return re.sub(r"[^a-z0-9]+", "-", f"{model} {os.cpu_count()} cores".lower()).strip("-")


def _table(rows, size: int, repeats: int, gemm: float) -> str:
    head = (f"# fmi-mx bench on {machine()}\n\n{size} px, seeded random VGG-19, median of {repeats} interleaved "
            f"steps after 3 warm-up steps; mxnet {mx.__version__}, {os.cpu_count()} cores; numpy float32 GEMM "
            f"{gemm:.1f} GFLOP/s.\nGFLOP/s counts the useful convolution work (forward + gradient of the image). "
            f"fmi_mx and PyTorch use {os.environ.get('MXNET_OMP_MAX_THREADS') or os.environ.get('OMP_NUM_THREADS')} "
            f"threads; \"original loop\" runs in its own process with MXNet's default pool "
            f"({mxnet_default_threads()} threads here), \"original loop, our threads\" in ours.\n\n"
            "Speed-up and time ratios compare time per image with the batch-1 baselines.\n\n"
            "| case | B | variant | ms/step | ms/image | peak MB | GFLOP/s | of GEMM | speed-up vs original | "
            "time vs PyTorch |\n|---|---|---|---|---|---|---|---|---|---|\n")
    fmt = lambda v, f: "" if v != v else format(v, f)  # noqa: E731  (NaN -> blank)
    body = "".join(f"| {c} | {b} | {label} | {ms:.0f} | {per:.0f} | {fmt(peak, '.0f')} | {rate:.1f} | {frac:.0%} | "
                   f"{fmt(speed, '.2f')} | {fmt(vs, '.2f')} |\n"
                   for c, b, label, ms, per, peak, rate, frac, speed, vs in rows)
    return head + body
