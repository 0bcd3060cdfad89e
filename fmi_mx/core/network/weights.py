"""VGG weights: the neural-style params format, read and written with the network they belong to, and
seeded random (untrained) weights. Pretrained files come from ``fmi_mx.pretrained``.

File format: MXNet ``nd.save`` dict of float32 arrays ``arg:conv1_1_weight`` ... (VGG-19: 32 arrays up
to ``arg:conv5_4_bias``; VGG-16: 26 up to ``arg:conv5_3_bias``) expecting RGB in 0..255 minus a mean.
Files written here add ``meta:network`` (``vgg16`` or ``vgg19``, UTF-8), ``meta:mean_rgb`` (3 floats,
the mean those weights expect; without it the Caffe mean applies) and their provenance:
``meta:pretrained`` (1 or 0) and ``meta:origin`` (UTF-8 text), and ``meta:arrays_sha256``: a digest of
the network's name and its arrays, made when the file was written, so that a damaged or edited file is
refused rather than trusted by its label. A file without ``meta:network`` is
VGG-19 when it has ``conv3_4``, else VGG-16; a file without provenance (the neural-style file, say)
is recorded as ``pretrained: null``: we cannot tell.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from ... import files
from . import vgg
from ...errors import FmiError

CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)
MEAN_KEY = "meta:mean_rgb"
PRETRAINED_KEY = "meta:pretrained"
ORIGIN_KEY = "meta:origin"
NETWORK_KEY = "meta:network"
DIGEST_KEY = "meta:arrays_sha256"
MODELS = Path("models")
UNKNOWN_ORIGIN = "no provenance recorded in the file"


def default_path(network: str = vgg.DEFAULT) -> Path:
    """Where a network's pretrained weights are looked for: ``models/<network>.params``."""
    return MODELS / f"{vgg.network(network).name}.params"



@dataclass(frozen=True)
class Weights:
    """Convolution arrays keyed ``conv1_1_weight``..., the RGB mean they expect, where they came from
    (``source``: the file or generator), what they are (``origin``), whether they are pretrained
    (None: the file does not say) and the network they belong to."""

    arrays: Dict[str, np.ndarray] = field(repr=False)
    mean_rgb: Tuple[float, float, float]
    source: str
    sha256: str
    origin: str = UNKNOWN_ORIGIN
    pretrained: Optional[bool] = None
    network: str = vgg.DEFAULT
    content_sha256: str = ""  # the digest of network and arrays recorded in the file, checked on load ("" if none)

    def describe(self) -> Dict[str, object]:
        """What every output records about the weights that made it."""
        return {"network": self.network, "source": self.source, "sha256": self.sha256,
                "mean_rgb": list(self.mean_rgb), "pretrained": self.pretrained, "origin": self.origin}

    @property
    def is_random(self) -> bool:
        return self.origin.startswith("random")

    @property
    def title(self) -> str:
        """``VGG-16, ImageNet`` / ``untrained VGG-19``: what figures and pages say made them."""
        net = vgg.network(self.network).title
        if self.is_random:
            return f"untrained {net}"
        return f"{net}, ImageNet" if self.pretrained else net


class DamagedWeights(FmiError):
    """A weights file whose arrays no longer match the digest recorded when it was written."""


def _sha256_arrays(arrays: Dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key], dtype=np.float32).tobytes())
    return digest.hexdigest()


def content_sha256(arrays: Dict[str, np.ndarray], network: str) -> str:
    """What a file records of its contents: the sha256 of its network's name and of its arrays."""
    return hashlib.sha256(f"{network}\n{_sha256_arrays(arrays)}".encode()).hexdigest()


def load(path) -> Weights:
    """Load and check a params file: every key of its network present with its shape, else an error naming it."""
    from ...backend.mx import mx

    path = Path(path)
    if not path.is_file():
        hint = "" if path.name not in {f"{n}.params" for n in vgg.NETWORKS} else f" {path.stem}"
        raise FmiError(f"weights file {path} not found: run `fmi-mx weights fetch{hint}` (pretrained) "
                       "or use --weights random (untrained, for trying things out)")
    try:
        loaded = mx.nd.load(str(path))
    except Exception:
        raise FmiError(f"weights file {path} is not an MXNet params file (mx.nd.save format)") from None
    if not isinstance(loaded, dict):
        raise FmiError(f"weights file {path} holds an unnamed list of arrays; expected keys like 'arg:conv1_1_weight'")
    net = _network_of(path, loaded)
    arrays = {}
    for key, shape in net.conv_shapes().items():
        name = f"arg:{key}"
        if name not in loaded:
            raise FmiError(f"weights file {path} is missing key '{name}' ({net.title})")
        array = loaded[name].asnumpy()
        if array.shape != shape:
            raise FmiError(f"weights file {path}: '{name}' has shape {array.shape}, {net.title} needs {shape}")
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
    recorded = _text(loaded[DIGEST_KEY]) if DIGEST_KEY in loaded else ""
    if recorded and recorded != content_sha256(arrays, net.name):
        raise DamagedWeights(f"weights file {path} is damaged: its arrays or its network no longer match the "
                             f"digest recorded when it was written; fetch or convert it again "
                             f"(`fmi-mx weights fetch {net.name} --force`)")
    return Weights(arrays, mean, f"file:{path}", files.sha256(path), origin, pretrained, net.name, recorded)


def _network_of(path: Path, loaded: dict) -> vgg.Network:
    """The network a file says it holds, or the one its keys show (``conv3_4`` exists in VGG-19 only)."""
    if NETWORK_KEY in loaded:
        name = _text(loaded[NETWORK_KEY])
        if name not in vgg.NETWORKS:
            raise FmiError(f"weights file {path}: '{NETWORK_KEY}' is '{name}', not one of {', '.join(vgg.NETWORKS)}")
        return vgg.NETWORKS[name]
    return vgg.NETWORKS["vgg19" if "arg:conv3_4_weight" in loaded else "vgg16"]


def _text(array) -> str:
    return bytes(array.asnumpy().astype(np.uint8)).decode("utf-8", errors="replace")


def _bytes(text: str):
    from ...backend.mx import mx

    return mx.nd.array(np.frombuffer(text.encode("utf-8"), np.uint8), dtype=np.uint8)


def save(path, arrays: Dict[str, np.ndarray], mean_rgb, *, origin: str, pretrained: Optional[bool],
         network: str = vgg.DEFAULT) -> Path:
    """Write weights in the neural-style format plus their network, mean and provenance, atomically
    (``pretrained`` None: not recorded, read back as unknown)."""
    from ...backend.mx import mx

    path = Path(path)
    net = vgg.network(network)
    if set(arrays) != set(net.conv_shapes()):
        raise ValueError(f"{net.title} weights need exactly the keys {list(net.conv_shapes())}")
    data = {f"arg:{k}": mx.nd.array(v, dtype=np.float32) for k, v in arrays.items()}
    data[NETWORK_KEY] = _bytes(net.name)
    data[MEAN_KEY] = mx.nd.array(np.asarray(mean_rgb, dtype=np.float32))
    if pretrained is not None:
        data[PRETRAINED_KEY] = mx.nd.array([1 if pretrained else 0], dtype=np.uint8)
    data[ORIGIN_KEY] = _bytes(origin)
    data[DIGEST_KEY] = _bytes(content_sha256(arrays, net.name))
    with files.atomic(path) as tmp:
        mx.nd.save(str(tmp), data)
    return path


def random_he(seed: int = 0, network: str = vgg.DEFAULT) -> Weights:
    """Untrained weights: He-normal (std sqrt(2 / fan_in)), zero biases, one random stream per array.
    VGG-19's streams are (seed, array index); another network's also carry its number of convolutions,
    so an untrained VGG-16 is not VGG-19's first layers again."""
    net = vgg.network(network)
    arrays = {}
    for i, (key, shape) in enumerate(net.conv_shapes().items()):
        if key.endswith("_bias"):
            arrays[key] = np.zeros(shape, np.float32)
        else:
            rng = np.random.default_rng([seed, i] if net.name == "vgg19" else [seed, i, len(net.convs)])
            std = np.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
            arrays[key] = (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))
    name = f"random-he:seed={seed}" if net.name == "vgg19" else f"random-he:{net.name}:seed={seed}"
    return Weights(arrays, CAFFE_MEAN_RGB, name, _sha256_arrays(arrays), origin=name, pretrained=False,
                   network=net.name)


def resolve(spec: Union[None, str, Path, Weights], network: Optional[str] = None) -> Weights:
    """The weights a run uses (``fmi_mx.load_weights``): load them once and pass them to every call.

    Args:
        spec: ``random`` or ``random:SEED`` (seeded He initialisation: untrained), a params file's path,
            or loaded ``Weights`` (returned as they are); None or "" is the network's default file,
            ``models/<network>.params``.
        network: ``vgg19`` or ``vgg16``. Given, weights of another network are refused; without it, a
            file's own network is taken (random: VGG-19).

    Returns:
        The weights, with their network, source, sha256 and whether they are pretrained (every record
        says which weights made it).

    Raises:
        FmiError: a missing or broken file (NaN weights, arrays that no longer match their recorded
            digest), a bad seed, or weights of another network than ``network``, in one line.
    """
    net = vgg.network(network) if network is not None else None
    if spec is None or spec == "":
        spec = default_path(net.name if net else vgg.DEFAULT)
    if isinstance(spec, Weights):
        w = spec
    elif str(spec) == "random" or str(spec).startswith("random:"):
        seed = str(spec).partition(":")[2] or "0"
        if not seed.isdigit():
            raise FmiError(f"weights '{spec}': the seed after 'random:' must be a whole number")
        return random_he(int(seed), net.name if net else vgg.DEFAULT)
    else:
        w = load(spec)
    if net is not None and w.network != net.name:
        flag = f"--network {w.network} (a config: network: {w.network}; Python: network='{w.network}')"
        raise FmiError(f"weights {w.source.removeprefix('file:')} are {vgg.network(w.network).title}, but the "
                       f"network asked for is {net.title}: add {flag}")
    return w
