"""The baselines ``bench.py`` measures fmi_mx against; not part of the product.

- ``Original``: the authors' loop as written (weight gradients, head gradients from fresh arrays,
  ``mx.optimizer.SGD``), in our process with our threads;
- ``OriginalAsRun``: the same loop as it ran, in its own process with MXNet's default thread pool;
- ``Torch``: the same step in PyTorch eager on the CPU.
"""
import os
import platform
import time

import numpy as np

from fmi_mx.backend.mx import mx
from fmi_mx.core.network import vgg
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.core.optimisation.loop import initial_image
from fmi_mx.core.optimisation.optimisers.sgd import learning_rate
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.core.network.weights import Weights, random_he

from steps import Case, content_image, targets


class Original:
    """The authors' loop as written (run here with our thread pool): every weight gets a gradient, the loss gradient is fed as a head
    gradient built from a fresh target array each iteration, the relative change is read back
    every iteration with a copy of the old image, and mx.optimizer.SGD does the update."""

    label = "original loop, our threads"

    def __init__(self, weights: Weights, case: Case, content: np.ndarray):
        feats = vgg.VGG19.features([t.layer for t in case.terms])
        self.symbol = mx.sym.Group([feats[t.layer] for t in case.terms])
        shapes = {"data": content.shape}
        self.exe = self.symbol.simple_bind(mx.cpu(), grad_req="write", **shapes)
        for name, array in self.exe.arg_dict.items():
            if name != "data":
                array[:] = weights.arrays[name]
        self.exe.arg_dict["data"][:] = content
        self.exe.forward(is_train=False)
        self.case = case
        self.targets = [t[0] for t in targets(case, {t.layer: o.asnumpy() for t, o in zip(case.terms, self.exe.outputs)})]
        self.img = self.exe.arg_dict["data"]
        self.img[:] = initial_image(content.shape, 0, Settings())
        s = Settings()
        self.optimizer = mx.optimizer.SGD(learning_rate=s.sgd.learning_rate, momentum=s.sgd.momentum, wd=s.weight_decay,
                                          clip_gradient=s.sgd.clip_gradient,
                                          lr_scheduler=mx.lr_scheduler.FactorScheduler(step=s.sgd.lr_step,
                                                                                        factor=s.sgd.lr_factor,
                                                                                        base_lr=s.sgd.learning_rate))
        self.state = self.optimizer.create_state(0, self.img)

    def step(self) -> None:
        old = self.img.copy()
        self.exe.forward(is_train=True)
        heads = []
        for term, out, target in zip(self.case.terms, self.exe.outputs, self.targets):
            if isinstance(term, CodeTerm):
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
        self.deepest = vgg.VGG19.deepest([t.layer for t in case.terms]).index
        with torch.no_grad():
            feats = self._forward(torch.from_numpy(content))
        self.targets = [torch.from_numpy(t) for t in targets(case, {k: v.numpy() for k, v in feats.items()})]
        self.x = torch.from_numpy(initial_image(content.shape, 0, Settings())).requires_grad_(True)
        self.mom = torch.zeros_like(self.x)
        self.update = 0

    def _forward(self, x):
        F = self.torch.nn.functional
        out, wanted = {}, {t.layer for t in self.case.terms}
        for spec in vgg.VGG19.layers[: self.deepest + 1]:
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
            if isinstance(term, CodeTerm):
                loss = loss + 0.5 * term.weight * ((f - target) ** 2).sum()
            else:
                c, m = f.shape[1], f.shape[2] * f.shape[3]
                loss = loss + term.weight / (2 * c * m) * ((f.sum(dim=(2, 3)) - target) ** 2).sum()
        grad, = torch.autograd.grad(loss, self.x)
        with torch.no_grad():
            lr = learning_rate(self.update, s)
            self.mom.mul_(s.sgd.momentum).sub_(lr * (grad.clamp(-s.sgd.clip_gradient, s.sgd.clip_gradient)
                                                     + s.weight_decay * self.x))
            self.x.add_(self.mom)
            (self.mom.norm() / self.x.norm()).item()


def _remote_original(conn, case: Case, size: int) -> None:
    """The original loop in its own process, stepping on command."""
    v = Original(random_he(0), case, content_image(size))
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
        self.process = ctx.Process(target=_remote_original, daemon=True,
                                   args=(theirs, case, content.shape[-1]))
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
