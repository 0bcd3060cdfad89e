"""VGG-19's convolutional part as data (a table of blocks) and an MXNet symbol built from it.

Spec "Network": blocks of 2, 2, 4, 4, 4 3x3 convolutions (stride 1, pad 1, bias, ReLU) with
64..512 filters, 2x2 stride-2 pooling between blocks (average by default, as in Gatys).
Layer names are generated while walking the table: ``conv{b}_{i}``, ``relu{b}_{i}``, ``pool{b}``.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..errors import FmiError, choice, unknown

#: (convolutions in the block, filters per convolution) for blocks 1..5
BLOCKS: Tuple[Tuple[int, int], ...] = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
POOLINGS = ("avg", "max")


@dataclass(frozen=True)
class Layer:
    """One named layer: its kind, the conv that feeds it and its channel count."""

    name: str
    kind: str  # "conv" | "relu" | "pool"
    index: int  # position in network order
    channels: int
    scale: int  # the input is this many times larger than the layer's feature map


def _walk() -> List[Layer]:
    layers, scale = [], 1
    for b, (depth, filters) in enumerate(BLOCKS, start=1):
        for i in range(1, depth + 1):
            for kind in ("conv", "relu"):
                layers.append(Layer(f"{kind}{b}_{i}", kind, len(layers), filters, scale))
        if b < len(BLOCKS):
            scale *= 2
            layers.append(Layer(f"pool{b}", "pool", len(layers), filters, scale))
    return layers


LAYERS: Tuple[Layer, ...] = tuple(_walk())
_BY_NAME: Dict[str, Layer] = {layer.name: layer for layer in LAYERS}
CONVS: Tuple[Layer, ...] = tuple(layer for layer in LAYERS if layer.kind == "conv")


def layer(name: str) -> Layer:
    """Look a layer up by name; a wrong name lists the valid ones and the closest."""
    if name == "":
        raise FmiError("an empty layer name (two commas in a row, or one at an end?)")
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise unknown("layer", name, _BY_NAME) from None


def conv_shapes() -> Dict[str, Tuple[int, ...]]:
    """Weight and bias shapes of every convolution, keyed like the params file (without ``arg:``)."""
    shapes, c_in = {}, 3
    for conv in CONVS:
        shapes[f"{conv.name}_weight"] = (conv.channels, c_in, 3, 3)
        shapes[f"{conv.name}_bias"] = (conv.channels,)
        c_in = conv.channels
    return shapes


def is_layer(name: str) -> bool:
    return isinstance(name, str) and name in _BY_NAME


def deepest(layer_names: Sequence[str]) -> Layer:
    """The deepest of some layers: the network is built, costed and sized up to it."""
    found = [layer(n) for n in layer_names]
    if not found:
        raise FmiError("no layer requested")
    return max(found, key=lambda spec: spec.index)


def check_filter(layer_name: str, index: int) -> int:
    """Validate a filter index against the layer's channel count."""
    channels = layer(layer_name).channels
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < channels:
        raise FmiError(f"filter {index} does not exist at {layer_name} (allowed: 0..{channels - 1})")
    return index


def check_size(layer_names: Sequence[str], height: int, width: int) -> None:
    """Refuse an image too small to leave at least one pixel at the deepest layer."""
    last = deepest(layer_names)
    if min(height, width) < last.scale:
        raise FmiError(f"a {height}x{width} image is too small for {last.name}: "
                       f"it needs at least {last.scale} px per side")


def conv_macs(layer_names: Sequence[str], height: int, width: int) -> float:
    """Multiply-adds of the forward convolutions up to the deepest layer, one image."""
    total, c_in = 0.0, 3
    for spec in LAYERS[: deepest(layer_names).index + 1]:
        if spec.kind == "conv":
            _, h, w = output_shape(spec.name, height, width)
            total += c_in * spec.channels * 9 * h * w
            c_in = spec.channels
    return total


def features(layer_names: Sequence[str], data=None, pooling: str = "avg"):
    """Build the network up to the deepest requested layer; return ``{name: symbol}`` for those layers.

    Weights are variables ``conv{b}_{i}_weight`` / ``_bias``, to be bound from a params file.
    """
    from ..backend.mx import mx

    choice("pooling", pooling, POOLINGS)
    wanted = {layer(n).name for n in layer_names}
    x = mx.sym.Variable("data") if data is None else data
    out = {}
    for spec in LAYERS[: deepest(layer_names).index + 1]:
        if spec.kind == "conv":
            x = mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=spec.channels, name=spec.name,
                                   weight=mx.sym.Variable(f"{spec.name}_weight"),
                                   bias=mx.sym.Variable(f"{spec.name}_bias"))
        elif spec.kind == "relu":
            x = mx.sym.Activation(x, act_type="relu", name=spec.name)
        else:
            x = mx.sym.Pooling(x, pool_type=pooling, kernel=(2, 2), stride=(2, 2), name=spec.name)
        if spec.name in wanted:
            out[spec.name] = x
    return out


def output_shape(layer_name: str, height: int, width: int) -> Tuple[int, int, int]:
    """(C, H, W) of a layer's feature map for an input of height x width (valid pooling floors)."""
    spec = layer(layer_name)
    h, w = height, width
    for pool in LAYERS[: spec.index + 1]:
        if pool.kind == "pool":
            h, w = h // 2, w // 2
    return spec.channels, h, w
