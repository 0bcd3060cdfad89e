"""Any ONNX VGG-16 or VGG-19 as our weights: the Conv nodes in graph order, their kernels and biases.

The network is told from the number of convolutions (13 or 16); every kernel must have its network's
shape, with 3x3 windows, stride 1, padding 1, no groups or dilation. Whatever follows the last
convolution (a classifier head) is ignored. Networks converted from Caffe or Keras expect **BGR**
input: ``bgr`` reverses conv1_1's input channels so that our RGB pipeline feeds them right.
Reading ONNX needs the ``onnx`` package (``pip install 'fmi_mx[onnx]'``).
"""
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np

from ..core.network import vgg
from ..errors import FmiError
from . import registry

WANTED = {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1], "dilations": [1, 1], "group": 1}


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise FmiError("reading ONNX files needs the onnx package: pip install 'fmi_mx[onnx]' "
                       "(or pip install onnx)") from None
    return onnx, numpy_helper


def read(source: Union[str, Path, bytes], name: str = "") -> Tuple[vgg.Network, Dict[str, np.ndarray]]:
    """An ONNX model (a path, or the file's bytes named ``name``) as (network, arrays keyed conv1_1_weight...)."""
    onnx, numpy_helper = _onnx()
    source, name = registry.file_bytes(source, name)
    try:
        model = onnx.load_from_string(source)
    except Exception as e:
        raise FmiError(f"{name} is not an ONNX model ({type(e).__name__})") from None
    constants = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:  # some exporters put weights in Constant nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = node.attribute[0].t
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    net = next((n for n in vgg.NETWORKS.values() if len(n.convs) == len(convs)), None)
    if net is None:
        raise FmiError(f"{name} is not a VGG this tool reads: it has {len(convs)} convolutions "
                       f"(VGG-16 has 13, VGG-19 16)")
    arrays: Dict[str, np.ndarray] = {}
    shapes = net.conv_shapes()
    for spec, node in zip(net.convs, convs):
        where = f"{name}: convolution {spec.name} (node '{node.name or node.output[0]}')"
        _check_attributes(node, where, onnx)
        if len(node.input) < 2 or node.input[1] not in constants:
            raise FmiError(f"{where}: its kernel is not a constant of the file")
        kernel = numpy_helper.to_array(constants[node.input[1]])
        if len(node.input) > 2 and node.input[2]:
            if node.input[2] not in constants:
                raise FmiError(f"{where}: its bias is not a constant of the file")
            bias = numpy_helper.to_array(constants[node.input[2]])
        else:
            bias = np.zeros(kernel.shape[:1], np.float32)
        for key, array in ((f"{spec.name}_weight", kernel), (f"{spec.name}_bias", bias)):
            if array.shape != shapes[key]:
                raise FmiError(f"{where}: {key.rsplit('_', 1)[1]} shape {array.shape}, {net.title} needs "
                               f"{shapes[key]}: not a {net.title}")
            if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
                raise FmiError(f"{where}: {key.rsplit('_', 1)[1]} is not finite floating-point data")
            arrays[key] = np.ascontiguousarray(array, dtype=np.float32)
    return net, arrays


def _check_attributes(node, where: str, onnx) -> None:
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    auto_pad = attributes.pop("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        attributes.setdefault("pads", WANTED["pads"])  # a 3x3 stride-1 SAME convolution pads 1 on every side
    for key, want in WANTED.items():
        got = attributes.get(key, want if key != "pads" else [0, 0, 0, 0])
        got = list(got) if isinstance(got, (list, tuple)) else got
        if got != want:
            raise FmiError(f"{where}: {key} {got}, a VGG convolution has {want}")


def to_rgb(arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The same weights for RGB input where they expected BGR: conv1_1's input channels reversed."""
    out = dict(arrays)
    out["conv1_1_weight"] = np.ascontiguousarray(arrays["conv1_1_weight"][:, ::-1])
    return out

