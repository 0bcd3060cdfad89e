"""VGG-16 and VGG-19's convolutional parts as data (one table of blocks each) and an MXNet symbol built
from a table.

Both networks are blocks of 3x3 convolutions (stride 1, pad 1, bias, ReLU) with 64, 128, 256, 512 and
512 filters, with 2x2 stride-2 pooling between blocks (average by default, as in Gatys); VGG-16 has
2, 2, 3, 3, 3 convolutions per block and VGG-19 2, 2, 4, 4, 4. Layer names are generated while walking
a table: ``conv{b}_{i}``, ``relu{b}_{i}``, ``pool{b}``. A name's shape (channels, downsampling) follows
from its block alone, so ``output_shape`` needs no network; whether the layer exists does.
"""
import functools
import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Sequence, Tuple

from ...errors import FmiError, choice, unknown
from ..rules import Problem, check, given

FILTERS: Tuple[int, ...] = (64, 128, 256, 512, 512)  # per block, in both networks
POOLINGS = ("avg", "max")
DEFAULT = "vgg19"  # the paper's network
_NAME = re.compile(r"(conv|relu)([1-9])_([1-9])|pool([1-9])")


@dataclass(frozen=True)
class Layer:
    """One named layer: its kind, its position in the network, its channel count and downsampling."""

    name: str
    kind: str  # "conv" | "relu" | "pool"
    index: int  # position in network order
    channels: int
    scale: int  # the input is this many times larger than the layer's feature map


@dataclass(frozen=True)
class Network:
    """One VGG as data: its name, its title for people, and the convolutions of each block."""

    name: str
    title: str
    depths: Tuple[int, ...]

    @functools.cached_property
    def layers(self) -> Tuple[Layer, ...]:
        layers: List[Layer] = []
        scale = 1
        for b, (depth, filters) in enumerate(zip(self.depths, FILTERS), start=1):
            for i in range(1, depth + 1):
                for kind in ("conv", "relu"):
                    layers.append(Layer(f"{kind}{b}_{i}", kind, len(layers), filters, scale))
            if b < len(self.depths):
                scale *= 2
                layers.append(Layer(f"pool{b}", "pool", len(layers), filters, scale))
        return tuple(layers)

    @functools.cached_property
    def _by_name(self) -> Dict[str, Layer]:
        return {spec.name: spec for spec in self.layers}

    @property
    def convs(self) -> Tuple[Layer, ...]:
        return tuple(spec for spec in self.layers if spec.kind == "conv")

    def layer(self, name: str) -> Layer:
        """Look a layer up by name; a wrong name lists the valid ones and the closest."""
        if name == "":
            raise FmiError("an empty layer name (two commas in a row, or one at an end?)")
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            what = "layer" if self.name == DEFAULT else f"layer of {self.title}"
            raise unknown(what, name, self._by_name) from None

    def is_layer(self, name: str) -> bool:
        return isinstance(name, str) and name in self._by_name

    def conv_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Weight and bias shapes of every convolution, keyed like the params file (without ``arg:``)."""
        shapes, c_in = {}, 3
        for conv in self.convs:
            shapes[f"{conv.name}_weight"] = (conv.channels, c_in, 3, 3)
            shapes[f"{conv.name}_bias"] = (conv.channels,)
            c_in = conv.channels
        return shapes

    def deepest(self, layer_names: Sequence[str]) -> Layer:
        """The deepest of some layers: the network is built, costed and sized up to it."""
        found = [self.layer(n) for n in layer_names]
        if not found:
            raise FmiError("no layer requested")
        return max(found, key=lambda spec: spec.index)

    def up_to(self, layer_names: Sequence[str]) -> Tuple[Layer, ...]:
        """The layers from the input to the deepest of ``layer_names``, in network order."""
        return self.layers[: self.deepest(layer_names).index + 1]

    def check_filter(self, layer_name: str, index: int) -> int:
        """Validate a filter index against the layer's channel count."""
        channels = self.layer(layer_name).channels
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < channels:
            raise FmiError(f"filter {index} does not exist at {layer_name} (allowed: 0..{channels - 1})")
        return index

    def filter_problems(self, field: str, index, layer_names: Sequence[str], missing: str) -> Iterator[Problem]:
        """A task's filter index: given (else ``missing``), and a filter of each of its layers that this network
        has (unknown layers are reported by the layer rules)."""
        yield from check(field, index, given(missing))
        if index is not None:
            for name in filter(self.is_layer, layer_names):
                yield from check(field, index, functools.partial(self.check_filter, name))

    def check_size(self, layer_names: Sequence[str], height: int, width: int) -> None:
        """Refuse an image too small to leave at least one pixel at the deepest layer."""
        last = self.deepest(layer_names)
        if min(height, width) < last.scale:
            raise FmiError(f"a {height}x{width} image is too small for {last.name}: "
                           f"it needs at least {last.scale} px per side")

    def conv_macs(self, layer_names: Sequence[str], height: int, width: int) -> float:
        """Multiply-adds of the forward convolutions up to the deepest layer, one image."""
        total, c_in = 0.0, 3
        for spec in self.up_to(layer_names):
            if spec.kind == "conv":
                _, h, w = output_shape(spec.name, height, width)
                total += c_in * spec.channels * 9 * h * w
                c_in = spec.channels
        return total

    def features(self, layer_names: Sequence[str], data=None, pooling: str = "avg"):
        """Build the network up to the deepest requested layer; return ``{name: symbol}`` for those layers.

        Weights are variables ``conv{b}_{i}_weight`` / ``_bias``, to be bound from a params file.
        """
        from ...backend.mx import mx

        choice("pooling", pooling, POOLINGS)
        wanted = {self.layer(n).name for n in layer_names}
        x = mx.sym.Variable("data") if data is None else data
        out = {}
        for spec in self.up_to(layer_names):
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


NETWORKS: Dict[str, Network] = {net.name: net for net in (Network("vgg16", "VGG-16", (2, 2, 3, 3, 3)),
                                                           Network("vgg19", "VGG-19", (2, 2, 4, 4, 4)))}
VGG19 = NETWORKS["vgg19"]


def network(name: str) -> Network:
    """A network by name (``vgg16``, ``vgg19``); a wrong name lists them."""
    if isinstance(name, Network):
        return name
    return NETWORKS[choice("network", name, tuple(NETWORKS))]


def parse(name: str) -> Tuple[str, int]:
    """(kind, block) of a well-formed layer name of any VGG here; does not say whether a network has it."""
    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None or int(match.group(2) or match.group(4)) > len(FILTERS):
        if name == "":
            raise FmiError("an empty layer name (two commas in a row, or one at an end?)")
        raise unknown("layer", name, [spec.name for spec in VGG19.layers])
    kind = "pool" if match.group(4) else match.group(1)
    return kind, int(match.group(2) or match.group(4))


def output_shape(layer_name: str, height: int, width: int) -> Tuple[int, int, int]:
    """(C, H, W) of a layer's feature map for an input of height x width (valid pooling floors)."""
    kind, block = parse(layer_name)
    h, w = height, width
    for _ in range(block if kind == "pool" else block - 1):
        h, w = h // 2, w // 2
    return FILTERS[block - 1], h, w
