"""VGG-19 weights: the neural-style params format, the Gluon model-zoo conversion, seeded random weights.

File format (spec "Network"): MXNet ``nd.save`` dict of 32 float32 arrays ``arg:conv1_1_weight`` ...
``arg:conv5_4_bias`` expecting RGB in 0..255 minus a mean. Files written here add ``meta:mean_rgb``
(3 floats, the mean those weights expect; without it the Caffe mean applies) and their provenance:
``meta:pretrained`` (1 or 0) and ``meta:origin`` (UTF-8 text). A file without them (the neural-style
file, say) is recorded as ``pretrained: null``: we cannot tell.
"""
import contextlib
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from .. import files
from . import vgg
from ..errors import FmiError

CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)
#: Gluon model-zoo input normalisation: (x / 255 - mean) / std, RGB
GLUON_MEAN = (0.485, 0.456, 0.406)
GLUON_STD = (0.229, 0.224, 0.225)
MEAN_KEY = "meta:mean_rgb"
PRETRAINED_KEY = "meta:pretrained"
ORIGIN_KEY = "meta:origin"
DEFAULT_PATH = Path("models") / "vgg19.params"
UNKNOWN_ORIGIN = "no provenance recorded in the file"


@dataclass(frozen=True)
class Weights:
    """Convolution arrays keyed ``conv1_1_weight``..., the RGB mean they expect, where they came from
    (``source``: the file or generator), what they are (``origin``) and whether they are pretrained
    (None: the file does not say)."""

    arrays: Dict[str, np.ndarray] = field(repr=False)
    mean_rgb: Tuple[float, float, float]
    source: str
    sha256: str
    origin: str = UNKNOWN_ORIGIN
    pretrained: Optional[bool] = None

    def describe(self) -> Dict[str, object]:
        """What every output records about the weights that made it."""
        return {"source": self.source, "sha256": self.sha256, "mean_rgb": list(self.mean_rgb),
                "pretrained": self.pretrained, "origin": self.origin}

    @property
    def is_random(self) -> bool:
        return self.origin.startswith("random")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_arrays(arrays: Dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key], dtype=np.float32).tobytes())
    return digest.hexdigest()


def load(path) -> Weights:
    """Load and check a params file: every VGG-19 key present with its shape, else an error naming it."""
    from ..backend.mx import mx

    path = Path(path)
    if not path.is_file():
        raise FmiError(f"weights file {path} not found: run `fmi-mx weights fetch` (pretrained) "
                       "or use --weights random (untrained, for trying things out)")
    try:
        loaded = mx.nd.load(str(path))
    except Exception:
        raise FmiError(f"weights file {path} is not an MXNet params file (mx.nd.save format)") from None
    if not isinstance(loaded, dict):
        raise FmiError(f"weights file {path} holds an unnamed list of arrays; expected keys like 'arg:conv1_1_weight'")
    arrays = {}
    for key, shape in vgg.conv_shapes().items():
        name = f"arg:{key}"
        if name not in loaded:
            raise FmiError(f"weights file {path} is missing key '{name}'")
        array = loaded[name].asnumpy()
        if array.shape != shape:
            raise FmiError(f"weights file {path}: '{name}' has shape {array.shape}, VGG-19 needs {shape}")
        if not np.all(np.isfinite(array)):
            raise FmiError(f"weights file {path}: '{name}' holds NaN or infinite values")
        arrays[key] = array.astype(np.float32, copy=False)
    mean = CAFFE_MEAN_RGB
    if MEAN_KEY in loaded:
        stored = loaded[MEAN_KEY].asnumpy()
        if stored.shape != (3,):
            raise FmiError(f"weights file {path}: '{MEAN_KEY}' has shape {stored.shape}, expected (3,)")
        if not np.all(np.isfinite(stored)):
            raise FmiError(f"weights file {path}: '{MEAN_KEY}' holds NaN or infinite values")
        mean = tuple(float(v) for v in stored)
    pretrained = bool(loaded[PRETRAINED_KEY].asnumpy()[0]) if PRETRAINED_KEY in loaded else None
    origin = _text(loaded[ORIGIN_KEY]) if ORIGIN_KEY in loaded else UNKNOWN_ORIGIN
    return Weights(arrays, mean, f"file:{path}", _sha256_file(path), origin, pretrained)


def _text(array) -> str:
    return bytes(array.asnumpy().astype(np.uint8)).decode("utf-8", errors="replace")


def save(path, arrays: Dict[str, np.ndarray], mean_rgb, *, origin: str, pretrained: bool) -> Path:
    """Write weights in the neural-style format plus their mean and provenance, atomically."""
    from ..backend.mx import mx

    path = Path(path)
    data = {f"arg:{k}": mx.nd.array(v, dtype=np.float32) for k, v in arrays.items()}
    data[MEAN_KEY] = mx.nd.array(np.asarray(mean_rgb, dtype=np.float32))
    data[PRETRAINED_KEY] = mx.nd.array([1 if pretrained else 0], dtype=np.uint8)
    data[ORIGIN_KEY] = mx.nd.array(np.frombuffer(origin.encode("utf-8"), np.uint8), dtype=np.uint8)
    with files.atomic(path) as tmp:
        mx.nd.save(str(tmp), data)
    return path


def random_he(seed: int = 0) -> Weights:
    """Untrained VGG-19: He-normal weights (std sqrt(2 / fan_in)), zero biases, one stream per layer."""
    arrays = {}
    for i, (key, shape) in enumerate(vgg.conv_shapes().items()):
        if key.endswith("_bias"):
            arrays[key] = np.zeros(shape, np.float32)
        else:
            rng = np.random.default_rng([seed, i])
            std = np.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
            arrays[key] = (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))
    name = f"random-he:seed={seed}"
    return Weights(arrays, CAFFE_MEAN_RGB, name, _sha256_arrays(arrays), origin=name, pretrained=False)


def resolve(spec: Union[str, Path, Weights]) -> Weights:
    """``random`` / ``random:SEED`` for untrained weights, loaded ``Weights`` as they are, anything
    else is a params file path."""
    if isinstance(spec, Weights):
        return spec
    spec = str(spec)
    if spec == "random" or spec.startswith("random:"):
        seed = spec.partition(":")[2] or "0"
        if not seed.isdigit():
            raise FmiError(f"weights '{spec}': the seed after 'random:' must be a whole number")
        return random_he(int(seed))
    return load(spec)


def gluon_release(params_path) -> bool:
    """Is this file the model zoo's pretrained vgg19 (its sha1 is the one MXNet's model store checks)?"""
    from ..backend.mx import mx  # noqa: F401
    from mxnet.gluon.model_zoo import model_store

    digest = hashlib.sha1()
    with open(params_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == model_store._model_sha1["vgg19"]


def convert(params_path, out) -> Path:
    """Convert a Gluon vgg19 file and write it with its provenance (pretrained only for the zoo's release)."""
    arrays, mean = from_gluon(params_path)
    release = gluon_release(params_path)
    origin = ("Gluon model zoo vgg19 (ImageNet), converted by fmi_mx" if release
              else f"converted by fmi_mx from {Path(params_path).name}, not the model zoo's release")
    return save(out, arrays, mean, origin=origin, pretrained=release)


def from_gluon(params_path) -> Tuple[Dict[str, np.ndarray], Tuple[float, float, float]]:
    """Convert a ``gluon.model_zoo.vision.vgg19`` parameter file into our arrays and mean.

    Gluon feeds conv1_1 ``(x/255 - mu)/sigma``; we feed ``x - 255 mu``. Dividing conv1_1's input
    channels by ``255 sigma`` makes the two equal everywhere, zero padding included.
    """
    from ..backend.mx import mx
    from mxnet.gluon.model_zoo import vision

    net = vision.vgg19()
    try:
        net.load_parameters(str(params_path), ctx=mx.cpu())
    except Exception as e:
        raise FmiError(f"{params_path} is not a Gluon VGG-19 parameter file ({str(e).splitlines()[0][:120]})") from None
    convs = [block for block in net.features if isinstance(block, mx.gluon.nn.Conv2D)]
    assert len(convs) == len(vgg.CONVS), "Gluon's VGG-19 has 16 convolutions"
    arrays = {}
    for spec, block in zip(vgg.CONVS, convs):
        arrays[f"{spec.name}_weight"] = block.weight.data().asnumpy()
        arrays[f"{spec.name}_bias"] = block.bias.data().asnumpy()
    scale = 255.0 * np.asarray(GLUON_STD, np.float32)
    arrays["conv1_1_weight"] = arrays["conv1_1_weight"] / scale[None, :, None, None]
    return arrays, tuple(float(255.0 * m) for m in GLUON_MEAN)


def gluon_url() -> str:
    """Where MXNet's model store fetches vgg19 from (honours ``MXNET_GLUON_REPO``)."""
    from ..backend.mx import mx  # noqa: F401
    from mxnet.gluon.model_zoo import model_store

    repo = os.environ.get("MXNET_GLUON_REPO", model_store.apache_repo_url)
    repo = repo if repo.endswith("/") else repo + "/"
    return model_store._url_format.format(repo_url=repo, file_name=f"vgg19-{model_store.short_hash('vgg19')}")


def fetch(out=DEFAULT_PATH, root: Optional[str] = None) -> Path:
    """Fetch Gluon's pretrained VGG-19 (sha1-checked by MXNet's model store), convert it, write ``out``."""
    from ..backend.mx import mx
    from mxnet.gluon.model_zoo import model_store

    root = root or os.path.join(mx.base.data_dir(), "models")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the downloader prints every retry
            gluon_file = model_store.get_model_file("vgg19", root=root)
    except Exception as e:
        raise FmiError(f"cannot fetch VGG-19 ({type(e).__name__}): download {gluon_url()}, unzip it into {root} "
                       f"and run `fmi-mx weights fetch` again, or put the neural-style vgg19.params at {out}") from None
    return convert(gluon_file, out)
