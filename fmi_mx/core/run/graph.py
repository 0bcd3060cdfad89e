"""A VGG and the loss terms bound into one MXNet executor that yields the image gradient.

Weights and targets are bound with ``grad_req='null'``; only ``data`` (the image) gets a gradient.
The same executor also returns the codes of the requested layers, so targets are made with it too.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..image import param, transforms
from ..network import vgg
from ...backend.mx import mx
from .graphkey import View
from ..objectives.losses import Term, TotalVariation
from ..network.weights import Weights


class LossGraph:
    """One bound executor: ``data`` (the optimised variable: the image, or its spectrum) -> the image (``view``'s
    parameterisation) -> the network (through the transform stage, if any) -> loss terms (``MakeLoss``), with
    the codes of the layers they read and, for a parameterisation other than pixels, the image."""

    def __init__(self, weights: Weights, terms: Sequence[Term], shape: Tuple[int, int, int, int],
                 ctx=None, pooling: str = "avg", params: Optional[Dict] = None,
                 prior: Optional[TotalVariation] = None, view: View = View()):
        """``shape``: (N, 3, H, W) of the image; ``params``: weight NDArrays already on ``ctx``, shared by the
        graphs of one device; ``prior``: a total-variation prior on the image, one more loss head."""
        self.terms, self.shape, self.view = tuple(terms), tuple(shape), view
        self.ctx = ctx or mx.cpu()
        batch, _, height, width = self.shape
        self.image_size = (height, width)
        pad = view.pad or 0
        net_h, net_w = height + 2 * pad, width + 2 * pad
        self.layers = tuple(dict.fromkeys(t.layer for t in self.terms))
        net = vgg.network(weights.network)
        net.check_size(self.layers, net_h, net_w)
        data = mx.sym.Variable("data")  # one node: the network and the prior read the same image
        stands_for = param.of(view.param)
        image = stands_for.symbol(data, height, width)
        seen = transforms.symbol(image, view, height, width) if view.pad is not None else image
        feats = net.features(self.layers, data=seen, pooling=pooling)
        self.target_names = [f"target{i}_{t.NAME}_{t.layer}" for i, t in enumerate(self.terms)]
        heads = [t.symbol(feats[t.layer], mx.sym.Variable(name), net_h, net_w)
                 for t, name in zip(self.terms, self.target_names)]
        heads += [prior.symbol(image, None, height, width)] if prior else []
        self.heads = len(heads)
        extra = [] if stands_for.is_image else [mx.sym.BlockGrad(image)]
        symbol = mx.sym.Group(heads + [mx.sym.BlockGrad(feats[name]) for name in self.layers] + extra)

        variable = stands_for.variable_shape(batch, height, width)
        args = {"data": mx.nd.zeros(variable, self.ctx)}
        for term, name in zip(self.terms, self.target_names):
            args[name] = mx.nd.zeros((batch,) + term.target_shape(net_h, net_w), self.ctx)
        if view.pad is not None:
            args["affine"] = mx.nd.array(np.tile([1, 0, 0, 0, 1, 0], (batch, 1)), self.ctx)
        for name, value in stands_for.constants(height, width, view.decay, weights.mean_rgb).items():
            args[name] = mx.nd.array(value, self.ctx)
        params = {} if params is None else params
        for name in symbol.list_arguments():
            if name not in args:
                if name not in params:
                    params[name] = mx.nd.array(weights.arrays[name], self.ctx)
                args[name] = params[name]
        self.data = args["data"]
        self.grad = mx.nd.zeros(variable, self.ctx)
        self.executor = symbol.bind(self.ctx, args, args_grad={"data": self.grad},
                                    grad_req={name: "write" if name == "data" else "null" for name in args})
        self.target_arrays = [args[name] for name in self.target_names]
        self.affine = args.get("affine")
        self.is_image = stands_for.is_image  # the optimised variable is the image itself

    def set_affine(self, matrices: np.ndarray) -> None:
        """Each sample's (2, 3) transform matrix, flattened (N, 6), for the next passes."""
        self.affine[:] = matrices

    def images(self) -> np.ndarray:
        """The images (N, 3, H, W) that ``data`` stands for now, on the host (pixels: ``data`` itself)."""
        if self.is_image:
            return self.data.asnumpy()
        self.executor.forward(is_train=False)
        return self.executor.outputs[-1].asnumpy()

    def codes(self, x: np.ndarray) -> Dict[str, np.ndarray]:
        """Forward ``x`` (N, 3, H, W) and return the codes ``{layer: (N, C, h, w)}``. Overwrites ``data``."""
        self.data[:] = x
        return self.current_codes()

    def current_codes(self) -> Dict[str, np.ndarray]:
        """The codes of what ``data`` holds now (a forward pass; the loss outputs are overwritten)."""
        self.executor.forward(is_train=False)
        outputs = self.executor.outputs[self.heads:self.heads + len(self.layers)]
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
