"""An independent float64 numpy VGG, walked from the same layer table, for checking the MXNet graph."""
import numpy as np

from fmi_mx.core.network import vgg


def conv(x, w, b):
    """3x3, stride 1, pad 1 convolution: x (C, H, W), w (K, C, 3, 3)."""
    _, h, width = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((w.shape[0], h, width))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("kc,chw->khw", w[:, :, dy, dx], padded[:, dy:dy + h, dx:dx + width])
    return out + b[:, None, None]


def avg_pool(x):
    c, h, w = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))


def code(x, arrays, layer_name, network="vgg19"):
    """phi_L(x) for one image x (3, H, W), in float64."""
    x = np.asarray(x, np.float64)
    for spec in vgg.network(network).up_to([layer_name]):
        if spec.kind == "conv":
            x = conv(x, arrays[f"{spec.name}_weight"].astype(np.float64), arrays[f"{spec.name}_bias"])
        elif spec.kind == "relu":
            x = np.maximum(x, 0)
        else:
            x = avg_pool(x)
    return x
