"""Does bfloat16 pay here? Four 3x3 convolutions of 256 channels at 64x64 with a loss head and the image's
gradient only (an FMI step's shape), in float32 and kept in bfloat16 between the layers (weights cast once,
the image cast on the way in, float32 again at the loss), forward and backward timed side by side, and the
bfloat16 gradient's error against float32's. Run: ``python benchmarks/bfloat16.py``; the answer goes into
``benchmarks/results/<machine>-bfloat16.md``. A CPU without bfloat16 convolutions in oneDNN says so.
"""
import statistics
import time
from pathlib import Path

import numpy as np

from fmi_mx.backend.mx import mx

BF16 = np.dtype([("bfloat16", np.uint16)])  # how MXNet 1.9.1 names bfloat16 (not ml_dtypes' type)
SHAPE = (1, 256, 64, 64)


def _net(data):
    x = data
    for i in range(4):
        x = mx.sym.Activation(mx.sym.Convolution(x, weight=mx.sym.Variable(f"w{i}"), kernel=(3, 3), pad=(1, 1),
                                                 num_filter=256, no_bias=True), act_type="relu")
    return x


def _loss(features):
    return mx.sym.MakeLoss(mx.sym.sum(mx.sym.square(features)))


def _bound(low: bool, x: np.ndarray, weights):
    data = mx.sym.Variable("data")
    symbol = _loss(mx.sym.amp_cast(_net(mx.sym.amp_cast(data, dtype=BF16)), dtype=np.float32)) if low \
        else _loss(_net(data))
    args = {"data": mx.nd.array(x)}
    for i, w in enumerate(weights):
        args[f"w{i}"] = mx.nd.amp_cast(mx.nd.array(w), dtype=BF16) if low else mx.nd.array(w)
    grad = mx.nd.zeros(SHAPE)
    executor = symbol.bind(mx.cpu(), args, args_grad={"data": grad},
                           grad_req={k: "write" if k == "data" else "null" for k in args})
    return executor, grad


def measure(repeats: int = 7) -> str:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    weights = [rng.standard_normal((256, 256, 3, 3)).astype(np.float32) * 0.03 for _ in range(4)]
    lines = ["## bfloat16 between layers\n", "| variant | forward + backward (ms) | forward (ms) |", "|---|---|---|"]
    grads = {}
    for name, low in (("float32", False), ("bfloat16 between layers", True)):
        try:
            executor, grad = _bound(low, x, weights)
            for _ in range(2):
                executor.forward(is_train=True)
                executor.backward()
            mx.nd.waitall()
            both, forward = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                executor.forward(is_train=True)
                executor.backward()
                grad.wait_to_read()
                both.append(time.perf_counter() - start)
                start = time.perf_counter()
                executor.forward(is_train=False)
                executor.outputs[0].wait_to_read()
                forward.append(time.perf_counter() - start)
            grads[name] = grad.asnumpy()
            lines.append(f"| {name} | {statistics.median(both) * 1e3:.1f} | {statistics.median(forward) * 1e3:.1f} |")
        except mx.base.MXNetError as e:
            lines.append(f"| {name} | cannot run here: {str(e).splitlines()[0].split(']')[-1].strip()[:120]} | |")
    if len(grads) == 2:
        a, b = grads["float32"], grads["bfloat16 between layers"]
        lines.append(f"\nGradient relative error of bfloat16: {np.linalg.norm(a - b) / np.linalg.norm(a):.3f}")
    return "\n".join(lines) + "\n"


def main() -> int:
    from bench import machine

    text = measure()
    print(text)
    out = Path(__file__).parent / "results" / f"{machine()}-bfloat16.md"
    out.write_text(f"# bfloat16 on {machine()}\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
