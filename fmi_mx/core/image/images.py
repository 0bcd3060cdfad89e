"""Image I/O and the preprocess/postprocess pair: RGB 0..255 in, the network's input out, and back.

``preprocess`` maps RGB 0..255 to the network's input (CHW, mean removed, batch axis);
``postprocess`` is its inverse followed by Chambolle TV denoising.
"""
import functools
import warnings
from pathlib import Path
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from ... import files
from ...errors import FmiError, choice

#: scikit-image's bundled pictures, usable anywhere an image path is: ``sample:astronaut``
SAMPLES = ("astronaut", "chelsea", "coffee", "brick", "grass", "gravel", "rocket", "camera")
SAMPLE_PREFIX = "sample:"
MAX_PIXELS = 100_000_000  # an input image may hold at most this many pixels (read from its header)
#: what ``write`` can encode, by file ending
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def short_name(source: Optional[str]) -> str:
    """A picture's name for labels and file names: NAME of ``sample:NAME``, else the file's name without its
    folder and suffix; empty for none (a visualisation has no content picture)."""
    if source is None:
        return ""
    text = str(source)
    return text[len(SAMPLE_PREFIX):] if text.startswith(SAMPLE_PREFIX) else Path(text).stem


def check(source: str, decode: bool = False) -> Tuple[int, int]:
    """(height, width) of an image source, from its header: a known ``sample:NAME``, or a file that
    exists, is an image and holds at most MAX_PIXELS. ``decode``: also decode it whole (truncated files)."""
    if str(source).startswith(SAMPLE_PREFIX):
        choice("sample image", str(source)[len(SAMPLE_PREFIX):], SAMPLES)
        return _sample(str(source)[len(SAMPLE_PREFIX):]).shape[:2]
    path = Path(source)
    if not path.is_file():
        raise FmiError(f"image {source} not found")
    from PIL import Image, UnidentifiedImageError

    cap, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our cap, below, with our message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                width, height = picture.size
                if width * height > MAX_PIXELS:
                    raise FmiError(f"image {source} is {width}x{height} = {width * height:,} pixels, over the cap "
                                   f"of {MAX_PIXELS:,}: shrink it first")
                if decode:
                    picture.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise FmiError(f"image {source} cannot be read ({type(e).__name__}: not an image, truncated or corrupt)") \
            from None
    finally:
        Image.MAX_IMAGE_PIXELS = cap
    return height, width


def read(source: str) -> np.ndarray:
    """Read an image as RGB uint8 (H, W, 3): grayscale is replicated, alpha composited on white,
    16-bit scaled down, EXIF orientation applied. ``sample:NAME`` reads a scikit-image sample."""
    check(source)  # header only: the pixel cap holds before anything is decoded
    if str(source).startswith(SAMPLE_PREFIX):
        return _sample(str(source)[len(SAMPLE_PREFIX):]).copy()
    path = Path(source)
    buf = np.fromfile(str(path), dtype=np.uint8)
    raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if raw is None:
        raise FmiError(f"image {path} cannot be read (not an image format OpenCV knows, or corrupt)")
    if raw.ndim == 3 and raw.shape[2] == 4:
        img = raw  # IMREAD_UNCHANGED keeps alpha but skips EXIF; PNG/TIFF with alpha rarely carry it
    else:
        img = cv2.imdecode(buf, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)  # applies EXIF orientation
    return _to_rgb8(img, path)


def _to_rgb8(img: np.ndarray, path: Path) -> np.ndarray:
    if img.dtype == np.uint16:
        img = img.astype(np.float32) / 257.0
    elif img.dtype != np.uint8:
        raise FmiError(f"image {path} has {img.dtype} pixels; use 8- or 16-bit images")
    img = img.astype(np.float32)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        alpha = img[:, :, 3:] / 255.0
        img = img[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    elif img.shape[2] != 3:
        raise FmiError(f"image {path} has {img.shape[2]} channels; use gray, RGB or RGBA")
    return np.clip(np.rint(img[:, :, ::-1]), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=None)
def _sample(name: str) -> np.ndarray:
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)
    img.setflags(write=False)  # cached: shared by every reader
    return img


def as_rgb(array) -> np.ndarray:
    """A picture given as an array, (H, W) gray or (H, W, 3) RGB, as RGB uint8. Accepted: uint8 (0..255),
    other integers in 0..255, uint16 (0..65535, scaled down as 16-bit files are) and floats in 0..1
    (scikit-image's convention); anything else is refused in one line."""
    if not isinstance(array, np.ndarray):
        raise FmiError(f"a picture must be a path, sample:NAME or a numpy array, not a {type(array).__name__}")
    a = array
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.size == 0:
        raise FmiError(f"an image array must be (H, W) gray or (H, W, 3) RGB, not {a.shape}")
    if a.dtype == np.uint16:
        return np.rint(a.astype(np.float64) / 257.0).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        low, high = (float(a.min()), float(a.max())) if np.all(np.isfinite(a)) else (float("nan"),) * 2
        if not (0.0 <= low and high <= 1.0):
            raise FmiError(f"a float image array must hold values in 0..1 (scikit-image's convention), not "
                           f"{low:g}..{high:g}; for 0..255 give uint8")
        return np.rint(a * 255.0).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer) and not np.issubdtype(a.dtype, np.bool_):
        if a.min() < 0 or a.max() > 255:
            raise FmiError(f"an integer image array must hold values in 0..255, not {a.min()}..{a.max()} "
                           f"({a.dtype}; 16-bit pictures: give uint16)")
        return a.astype(np.uint8)
    raise FmiError(f"an image array must be uint8, uint16, another integer type (0..255) or float (0..1), "
                   f"not {a.dtype}")


def long_edge_shape(height: int, width: int, long_edge: int) -> Tuple[int, int]:
    """(H, W) scaled so the long edge is ``long_edge``, each side truncated to int (as the original)."""
    scale = long_edge / max(height, width)
    return max(1, int(height * scale)), max(1, int(width * scale))


def resize_long_edge(rgb: np.ndarray, long_edge: int) -> np.ndarray:
    """Scale so the long edge is ``long_edge`` (see ``long_edge_shape``)."""
    return resize(rgb, long_edge_shape(rgb.shape[0], rgb.shape[1], long_edge))


def resize(rgb: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Resize to exactly (H, W); area averaging when shrinking, bicubic when enlarging."""
    h, w = shape
    if (h, w) == rgb.shape[:2]:
        return rgb
    shrink = h * w < rgb.shape[0] * rgb.shape[1]
    out = cv2.resize(rgb.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.clip(out, 0, 255)


def preprocess(rgb: np.ndarray, mean_rgb: Sequence[float]) -> np.ndarray:
    """RGB 0..255 (H, W, 3) -> float32 (1, 3, H, W) with the mean removed."""
    x = rgb.astype(np.float32) - np.asarray(mean_rgb, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def deprocess(x: np.ndarray, mean_rgb: Sequence[float]) -> np.ndarray:
    """Inverse of ``preprocess``: (1, 3, H, W) or (3, H, W) -> RGB uint8 (H, W, 3), clipped."""
    x = np.asarray(x, np.float32).reshape(x.shape[-3:])
    rgb = x.transpose(1, 2, 0) + np.asarray(mean_rgb, np.float32)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def denoise(rgb: np.ndarray, weight: float) -> np.ndarray:
    """Chambolle total-variation denoising on the 0..1 image, channels jointly (weight 0 = off)."""
    if weight <= 0:
        return rgb
    from skimage.restoration import denoise_tv_chambolle

    out = denoise_tv_chambolle(rgb.astype(np.float64) / 255.0, weight=weight, channel_axis=-1)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def postprocess(x: np.ndarray, mean_rgb: Sequence[float], remove_noise: float = 0.2) -> np.ndarray:
    """Network input -> the saved picture: deprocess, then TV-denoise with weight ``remove_noise``."""
    return denoise(deprocess(x, mean_rgb), remove_noise)


def check_output(path) -> Path:
    """An output picture's name: a known image ending, in a folder that can be written."""
    files.check_file(path, "output")
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise FmiError(f"output {path}: unknown image type '{suffix}' (allowed: {', '.join(EXTENSIONS)})")
    return Path(path)


def encode(path, rgb: np.ndarray) -> bytes:
    """An RGB uint8 image as the bytes of the file type its name asks for."""
    path = Path(path)
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    except cv2.error:
        ok = False
    if not ok:
        raise FmiError(f"cannot encode {path}: use one of {', '.join(EXTENSIONS)}")
    return encoded.tobytes()


def write(path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 image atomically (encode, temp file in the same folder, rename)."""
    return files.write_bytes(path, encode(path, rgb))
