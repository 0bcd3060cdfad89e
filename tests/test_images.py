import struct

import cv2
import numpy as np
import pytest

from fmi_mx.core.image import images
from fmi_mx.errors import FmiError
from fmi_mx.core.network.weights import CAFFE_MEAN_RGB


def _save(path, bgr_or_gray):
    assert cv2.imwrite(str(path), bgr_or_gray)
    return path


def test_preprocess_and_deprocess_are_inverse(rgb):
    x = images.preprocess(rgb, CAFFE_MEAN_RGB)
    assert x.shape == (1, 3, 24, 32) and x.dtype == np.float32
    assert x[0, 0, 3, 5] == pytest.approx(rgb[3, 5, 0] - 123.68, abs=1e-4)
    assert x[0, 2, 3, 5] == pytest.approx(rgb[3, 5, 2] - 103.939, abs=1e-4)
    np.testing.assert_array_equal(images.deprocess(x, CAFFE_MEAN_RGB), rgb)


def test_deprocess_clips():
    x = np.full((1, 3, 2, 2), 500.0, np.float32)
    assert (images.deprocess(x, CAFFE_MEAN_RGB) == 255).all()


def test_resize_long_edge_truncates(rgb):
    out = images.resize_long_edge(rgb, 20)
    assert out.shape == (15, 20, 3)  # 24 * 20/32 = 15
    assert images.resize_long_edge(np.zeros((10, 3, 3), np.uint8), 7).shape == (7, 2, 3)  # 3 * 0.7 = 2.1


def test_denoise_off_is_identity_and_on_smooths(rgb):
    assert images.denoise(rgb, 0) is rgb
    smooth = images.denoise(rgb, 0.2)
    assert smooth.dtype == np.uint8 and np.abs(np.diff(smooth.astype(float), axis=1)).mean() < \
        np.abs(np.diff(rgb.astype(float), axis=1)).mean()


def test_read_rgb_gray_rgba_16bit(tmp_path, rgb):
    bgr = rgb[:, :, ::-1]
    np.testing.assert_array_equal(images.read(_save(tmp_path / "a.png", bgr)), rgb)
    gray = images.read(_save(tmp_path / "g.png", rgb[:, :, 0]))
    assert gray.shape == (24, 32, 3) and (gray[:, :, 1] == rgb[:, :, 0]).all()
    rgba = np.dstack([bgr, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[0, 0, 3] = 0  # a transparent pixel becomes white
    out = images.read(_save(tmp_path / "rgba.png", rgba))
    assert (out[0, 0] == 255).all() and (out[1:] == rgb[1:]).all()
    deep = images.read(_save(tmp_path / "d.png", bgr.astype(np.uint16) * 257))
    np.testing.assert_array_equal(deep, rgb)


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", img)
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_with_exif_orientation(jpeg.tobytes(), 6))  # 6: rotate 90 degrees clockwise
    assert images.read(path).shape == (40, 20, 3)


def test_bad_images_are_named(tmp_path):
    with pytest.raises(FmiError, match="absent.png not found"):
        images.read(tmp_path / "absent.png")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(FmiError, match="text.jpg cannot be read"):
        images.read(tmp_path / "text.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FmiError, match="empty.png cannot be read"):
        images.read(tmp_path / "empty.png")
    with pytest.raises(FmiError, match="unknown sample image 'astronot'.*Did you mean 'astronaut'"):
        images.read("sample:astronot")


def test_samples_are_bundled():
    assert images.read("sample:astronaut").shape == (512, 512, 3)
    assert images.read("sample:camera").shape == (512, 512, 3)  # grayscale sample, replicated


def test_write_is_atomic_and_round_trips(tmp_path, rgb):
    path = images.write(tmp_path / "sub" / "out.png", rgb)
    np.testing.assert_array_equal(images.read(path), rgb)
    assert [p.name for p in path.parent.iterdir()] == ["out.png"]
    with pytest.raises(FmiError, match="cannot encode"):
        images.write(tmp_path / "out.xyz", rgb)
    assert not (tmp_path / "out.xyz").exists()
