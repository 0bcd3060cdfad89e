"""A forward-only encoder: network and layers in, the features of those layers out. One bound MXNet
executor without loss heads or gradients, for targets, texture descriptors and the atlas score."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import vgg
from ...backend.mx import mx
from .weights import Weights


class Encoder:
    """``codes(x)``: the features ``{layer: (N, C, h, w)}`` of images ``x`` (N, 3, H, W) of one shape."""

    def __init__(self, weights: Weights, layers: Sequence[str], shape: Tuple[int, int, int, int], ctx=None,
                 pooling: str = "avg", params: Optional[Dict] = None):
        """``params``: weight NDArrays already on ``ctx``, shared with the device's other graphs."""
        self.layers = tuple(dict.fromkeys(layers))
        self.shape = tuple(shape)
        self.ctx = ctx or mx.cpu()
        net = vgg.network(weights.network)
        net.check_size(self.layers, shape[2], shape[3])
        feats = net.features(self.layers, pooling=pooling)
        symbol = mx.sym.Group([feats[name] for name in self.layers])
        params = {} if params is None else params
        args = {"data": mx.nd.zeros(self.shape, self.ctx)}
        for name in symbol.list_arguments():
            if name != "data":
                if name not in params:
                    params[name] = mx.nd.array(weights.arrays[name], self.ctx)
                args[name] = params[name]
        self.data = args["data"]
        self.executor = symbol.bind(self.ctx, args, grad_req="null")

    def codes(self, x: np.ndarray) -> Dict[str, np.ndarray]:
        """Forward ``x`` and return each layer's features (a host copy)."""
        self.data[:] = x
        self.executor.forward(is_train=False)
        return {name: out.asnumpy() for name, out in zip(self.layers, self.executor.outputs)}
