"""A Keras VGG-16 or VGG-19 weights file (HDF5, "notop" or with its classifier) as our arrays.

Keras keeps each convolution in a group ``block{B}_conv{C}`` with a kernel dataset of shape
(3, 3, in, out) and a bias of shape (out,); the datasets' names differ between Keras versions
(``block1_conv1_W_1:0``, ``kernel:0``), so they are told apart by their rank. MXNet wants the kernel
as (out, in, 3, 3): a transpose, with no spatial flip (Keras and MXNet both correlate). Groups of other
layers (pooling, input, a classifier) are ignored. Reading HDF5 needs the ``h5`` extra (h5py).
"""
import io
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np

from ..core.network import vgg
from ..errors import FmiError
from . import registry


def _h5py():
    try:
        import h5py
    except ImportError:
        raise FmiError("reading Keras .h5 weights needs the h5py package: pip install 'fmi_mx[h5]' "
                       "(or pip install h5py)") from None
    return h5py


def group_name(conv: vgg.Layer) -> str:
    """``conv3_2`` -> ``block3_conv2``: Keras' name for one of our convolutions."""
    block, index = conv.name.removeprefix("conv").split("_")
    return f"block{block}_conv{index}"


def read(source: Union[str, Path, bytes], name: str = "") -> Tuple[vgg.Network, Dict[str, np.ndarray]]:
    """A Keras VGG weights file (a path, or its bytes named ``name``) as (network, arrays keyed conv1_1_weight...)."""
    h5py = _h5py()
    source, name = registry.file_bytes(source, name)
    try:
        handle = h5py.File(io.BytesIO(source), "r")
    except Exception as e:
        raise FmiError(f"{name} is not an HDF5 file ({type(e).__name__})") from None
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle  # a whole saved model
        blocks = {key for key in root.keys() if key.startswith("block") and "_conv" in key}
        net = next((n for n in vgg.NETWORKS.values() if {group_name(c) for c in n.convs} == blocks), None)
        if net is None:
            raise FmiError(f"{name} is not a Keras VGG this tool reads: it has {len(blocks)} convolution groups "
                           f"block*_conv* (VGG-16 has 13, VGG-19 16)")
        shapes = net.conv_shapes()
        arrays: Dict[str, np.ndarray] = {}
        for conv in net.convs:
            kernel, bias = _kernel_and_bias(root[group_name(conv)], f"{name}: {group_name(conv)}", h5py)
            arrays[f"{conv.name}_weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
            arrays[f"{conv.name}_bias"] = bias
            for key in (f"{conv.name}_weight", f"{conv.name}_bias"):
                if arrays[key].shape != shapes[key]:
                    got = kernel.shape if key.endswith("weight") else bias.shape
                    raise FmiError(f"{name}: {group_name(conv)} has a {key.rsplit('_', 1)[1]} of shape {got}, "
                                   f"{net.title}'s {conv.name} needs {_keras_shape(shapes[key])}: not a {net.title}")
    return net, arrays


def _kernel_and_bias(group, where: str, h5py) -> Tuple[np.ndarray, np.ndarray]:
    """The one rank-4 and the one rank-1 dataset under a layer's group (Keras nests them one level down)."""
    found: Dict[int, list] = {}
    group.visititems(lambda _, item: found.setdefault(item.ndim, []).append(item)
                     if isinstance(item, h5py.Dataset) else None)
    if len(found.get(4, ())) != 1 or len(found.get(1, ())) != 1:
        raise FmiError(f"{where}: expected one kernel (rank 4) and one bias (rank 1), found "
                       f"{len(found.get(4, ()))} and {len(found.get(1, ()))}")
    kernel, bias = found[4][0][()], found[1][0][()]
    for what, array in (("kernel", kernel), ("bias", bias)):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
            raise FmiError(f"{where}: its {what} is not finite floating-point data")
    return kernel.astype(np.float32, copy=False), bias.astype(np.float32, copy=False)


def _keras_shape(shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """Our (out, in, 3, 3) as Keras' (3, 3, in, out); a bias shape as it is."""
    return tuple(shape[i] for i in (2, 3, 1, 0)) if len(shape) == 4 else shape
