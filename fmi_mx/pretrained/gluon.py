"""Gluon model-zoo VGGs: fetched by MXNet's model store (sha1-checked) and converted to our format.

Gluon feeds conv1_1 ``(x/255 - mu)/sigma``; we feed ``x - 255 mu``. Dividing conv1_1's input channels
by ``255 sigma`` makes the two equal everywhere, zero padding included.
"""
import contextlib
import hashlib
import io
import os
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from ..core.network import vgg
from ..core.network import weights as weights_module
from ..errors import FmiError

#: Gluon model-zoo input normalisation: (x / 255 - mean) / std, RGB
GLUON_MEAN = (0.485, 0.456, 0.406)
GLUON_STD = (0.229, 0.224, 0.225)


def _network_of(params_path: Path) -> vgg.Network:
    """The VGG a Gluon parameter file holds, from its number of convolution kernels."""
    from ..backend.mx import mx

    if not params_path.is_file():
        raise FmiError(f"{params_path} not found")
    try:
        loaded = mx.nd.load(str(params_path))
    except Exception:
        raise FmiError(f"{params_path} is not a Gluon VGG parameter file (MXNet cannot read it)") from None
    kernels = [k for k, v in loaded.items() if k.startswith("features.") and len(v.shape) == 4] \
        if isinstance(loaded, dict) else []
    for net in vgg.NETWORKS.values():
        if len(kernels) == len(net.convs):
            return net
    raise FmiError(f"{params_path} is not a Gluon VGG parameter file ({len(kernels)} 'features.*' convolution "
                   f"kernels; VGG-16 has 13, VGG-19 16)")


def release(params_path, network: str) -> bool:
    """Is this file the model zoo's pretrained release of ``network`` (the sha1 MXNet's model store checks)?"""
    from ..backend.mx import mx  # noqa: F401
    from mxnet.gluon.model_zoo import model_store

    digest = hashlib.sha1()
    with open(params_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == model_store._model_sha1[network]


def arrays_of(params_path) -> Tuple[vgg.Network, Dict[str, np.ndarray], Tuple[float, float, float]]:
    """A ``gluon.model_zoo.vision.vgg16/19`` parameter file as (network, our arrays, the RGB mean they expect)."""
    from ..backend.mx import mx
    from mxnet.gluon.model_zoo import vision

    params_path = Path(params_path)
    net = _network_of(params_path)
    model = vision.get_vgg(len(net.convs) + 3)
    try:
        model.load_parameters(str(params_path), ctx=mx.cpu())
    except Exception as e:
        first = next((line for line in str(e).splitlines() if line.strip() and "Traceback" not in line), "")
        raise FmiError(f"{params_path} is not a Gluon {net.title} parameter file ({first[:120]})") from None
    convs = [block for block in model.features if isinstance(block, mx.gluon.nn.Conv2D)]
    arrays = {}
    for spec, block in zip(net.convs, convs):
        arrays[f"{spec.name}_weight"] = block.weight.data().asnumpy()
        arrays[f"{spec.name}_bias"] = block.bias.data().asnumpy()
    scale = 255.0 * np.asarray(GLUON_STD, np.float32)
    arrays["conv1_1_weight"] = arrays["conv1_1_weight"] / scale[None, :, None, None]
    return net, arrays, tuple(float(255.0 * m) for m in GLUON_MEAN)


def convert(params_path, out) -> Path:
    """Convert a Gluon VGG file and write it with its provenance (pretrained only for the zoo's release)."""
    net, arrays, mean = arrays_of(params_path)
    is_release = release(params_path, net.name)
    origin = (f"Gluon model zoo {net.name} (ImageNet), converted by fmi_mx" if is_release
              else f"converted by fmi_mx from {Path(params_path).name}, not the model zoo's release")
    return weights_module.save(out, arrays, mean, origin=origin, pretrained=is_release, network=net.name)


def url(network: str = "vgg19") -> str:
    """Where MXNet's model store fetches a network from (honours ``MXNET_GLUON_REPO``)."""
    from ..backend.mx import mx  # noqa: F401
    from mxnet.gluon.model_zoo import model_store

    repo = os.environ.get("MXNET_GLUON_REPO", model_store.apache_repo_url)
    repo = repo if repo.endswith("/") else repo + "/"
    return model_store._url_format.format(repo_url=repo, file_name=f"{network}-{model_store.short_hash(network)}")


def fetch(out, network: str = "vgg19", root: Optional[str] = None) -> Path:
    """Fetch Gluon's pretrained VGG (sha1-checked by MXNet's model store), convert it, write ``out``."""
    from ..backend.mx import mx
    from mxnet.gluon.model_zoo import model_store

    root = root or os.path.join(mx.base.data_dir(), "models")
    title = vgg.network(network).title
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the downloader prints every retry
            gluon_file = model_store.get_model_file(network, root=root)
    except Exception as e:
        raise FmiError(f"cannot fetch {title} ({type(e).__name__}): download {url(network)}, unzip it into {root} "
                       f"and run `fmi-mx weights fetch {network}` again, or put the neural-style {network}.params "
                       f"at {out}") from None
    return convert(gluon_file, out)
