"""A VGG and the loss terms bound into one MXNet executor that yields the image gradient.

Weights and targets are bound with ``grad_req='null'``; only ``data`` (the image) gets a gradient.
The same executor also returns the codes of the requested layers, so targets are made with it too.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import vgg
from ..backend.mx import mx
from .losses import Term, TotalVariation
from .weights import Weights


class LossGraph:
    """One bound executor: ``data`` -> loss terms (``MakeLoss``) and the codes of the layers they read."""

    def __init__(self, weights: Weights, terms: Sequence[Term], shape: Tuple[int, int, int, int],
                 ctx=None, pooling: str = "avg", params: Optional[Dict] = None,
                 prior: Optional[TotalVariation] = None):
        """``params``: weight NDArrays already on ``ctx``, shared by the graphs of one device;
        ``prior``: a total-variation prior on the image, one more loss head."""
        self.terms = tuple(terms)
        self.shape = tuple(shape)
        self.ctx = ctx or mx.cpu()
        batch, _, height, width = self.shape
        self.layers = tuple(dict.fromkeys(t.layer for t in self.terms))
        net = vgg.network(weights.network)
        net.check_size(self.layers, height, width)
        data = mx.sym.Variable("data")  # one node: the network and the prior read the same image
        feats = net.features(self.layers, data=data, pooling=pooling)
        self.target_names = [f"target{i}_{t.NAME}_{t.layer}" for i, t in enumerate(self.terms)]
        heads = [t.symbol(feats[t.layer], mx.sym.Variable(name), height, width)
                 for t, name in zip(self.terms, self.target_names)]
        heads += [prior.symbol(data)] if prior else []
        self.heads = len(heads)
        symbol = mx.sym.Group(heads + [mx.sym.BlockGrad(feats[name]) for name in self.layers])

        args = {"data": mx.nd.zeros(self.shape, self.ctx)}
        for term, name in zip(self.terms, self.target_names):
            args[name] = mx.nd.zeros((batch,) + term.target_shape(height, width), self.ctx)
        params = {} if params is None else params
        for name in symbol.list_arguments():
            if name not in args:
                if name not in params:
                    params[name] = mx.nd.array(weights.arrays[name], self.ctx)
                args[name] = params[name]
        self.data = args["data"]
        self.grad = mx.nd.zeros(self.shape, self.ctx)
        self.executor = symbol.bind(self.ctx, args, args_grad={"data": self.grad},
                                    grad_req={name: "write" if name == "data" else "null" for name in args})
        self.target_arrays = [args[name] for name in self.target_names]

    def codes(self, x: np.ndarray) -> Dict[str, np.ndarray]:
        """Forward ``x`` (N, 3, H, W) and return the codes ``{layer: (N, C, h, w)}``. Overwrites ``data``."""
        self.data[:] = x
        return self.current_codes()

    def current_codes(self) -> Dict[str, np.ndarray]:
        """The codes of what ``data`` holds now (a forward pass; the loss outputs are overwritten)."""
        self.executor.forward(is_train=False)
        outputs = self.executor.outputs[self.heads:]
        return {name: out.asnumpy() for name, out in zip(self.layers, outputs)}

    def set_targets(self, targets: Sequence[np.ndarray]) -> None:
        """One target per term, each with a batch axis."""
        for array, target in zip(self.target_arrays, targets):
            array[:] = target

    def step(self) -> None:
        """Forward and backward: ``self.grad`` then holds d(sum of terms)/d(data). No host sync."""
        self.executor.forward(is_train=True)
        self.executor.backward()

    def loss_outputs(self) -> List:
        """The terms' (and the prior's) values from the last forward, (batch,) NDArrays (reading them syncs)."""
        return self.executor.outputs[: self.heads]

    def sample_losses(self) -> np.ndarray:
        """Each sample's total loss at the last forward (note: a host sync)."""
        return np.sum([out.asnumpy() for out in self.loss_outputs()], axis=0)
