import numpy as np
import pytest

from fmi_mx.core.network import weights as W
from fmi_mx.backend.mx import mx
from fmi_mx.errors import FmiError
from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.pretrained import gluon


def test_random_weights_are_seeded_he(random_weights):
    again = W.random_he(0)
    assert again.sha256 == random_weights.sha256 and W.random_he(1).sha256 != random_weights.sha256
    w = random_weights.arrays["conv3_1_weight"]
    assert w.shape == (256, 128, 3, 3)
    assert abs(w.std() / np.sqrt(2.0 / (128 * 9)) - 1) < 0.01
    assert not random_weights.arrays["conv3_1_bias"].any()
    assert random_weights.describe()["source"] == "random-he:seed=0"
    assert random_weights.describe()["pretrained"] is False


def test_save_load_round_trip(tmp_path, random_weights):
    path = W.save(tmp_path / "w.params", random_weights.arrays, (1.0, 2.0, 3.0), origin="test weights",
                  pretrained=True)
    loaded = W.load(path)
    assert loaded.mean_rgb == (1.0, 2.0, 3.0)
    assert (loaded.origin, loaded.pretrained) == ("test weights", True) and not loaded.is_random
    assert loaded.source == f"file:{path}" and len(loaded.sha256) == 64
    for key, value in random_weights.arrays.items():
        np.testing.assert_array_equal(loaded.arrays[key], value)
    assert not list(tmp_path.glob(".*tmp"))


def test_neural_style_file_without_mean_gets_caffe_mean(tmp_path, random_weights):
    mx.nd.save(str(tmp_path / "vgg19.params"), {f"arg:{k}": mx.nd.array(v) for k, v in random_weights.arrays.items()})
    loaded = W.load(tmp_path / "vgg19.params")
    assert loaded.mean_rgb == W.CAFFE_MEAN_RGB
    assert loaded.describe()["pretrained"] is None  # the file does not say, so neither do we


def test_provenance_cannot_lie(tmp_path, random_weights, capsys):
    from fmi_mx.cli import main

    assert main(["weights", "random", "--seed", "3", "--out", str(tmp_path / "r.params")]) == 0
    saved = W.load(tmp_path / "r.params")
    assert saved.describe()["pretrained"] is False and saved.is_random and saved.origin == "random-he:seed=3"
    assert random_weights.describe()["pretrained"] is False


def test_nan_mean_is_refused(tmp_path, random_weights):
    path = W.save(tmp_path / "w.params", random_weights.arrays, (float("nan"), 1.0, 2.0), origin="x",
                  pretrained=False)
    with pytest.raises(FmiError, match="'meta:mean_rgb' holds NaN"):
        W.load(path)


def _write(tmp_path, arrays):
    path = tmp_path / "bad.params"
    mx.nd.save(str(path), {f"arg:{k}": mx.nd.array(v) for k, v in arrays.items()})
    return path


def test_missing_key_is_named(tmp_path, random_weights):
    arrays = dict(random_weights.arrays)
    del arrays["conv4_2_bias"]
    with pytest.raises(FmiError, match=r"missing key 'arg:conv4_2_bias'"):
        W.load(_write(tmp_path, arrays))


def test_wrong_shape_is_named(tmp_path, random_weights):
    arrays = dict(random_weights.arrays, conv1_2_weight=np.zeros((64, 64, 1, 1), np.float32))
    with pytest.raises(FmiError, match=r"'arg:conv1_2_weight' has shape \(64, 64, 1, 1\), VGG-19 needs \(64, 64, 3, 3\)"):
        W.load(_write(tmp_path, arrays))


def test_not_a_params_file(tmp_path):
    path = tmp_path / "vgg19.params"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(FmiError, match="is not an MXNet params file"):
        W.load(path)
    with pytest.raises(FmiError, match="not found"):
        W.load(tmp_path / "absent.params")


def test_resolve():
    assert W.resolve("random:7").source == "random-he:seed=7"
    with pytest.raises(FmiError, match="whole number"):
        W.resolve("random:x")


def test_gluon_conversion_matches_gluon_vgg19(tmp_path):
    """Converted random Gluon weights and our preprocessing give Gluon's own relu5_4."""
    from mxnet.gluon.model_zoo import vision

    mx.random.seed(4)
    net = vision.vgg19()
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="out", magnitude=2))
    rng = np.random.default_rng(5)
    image = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    gluon_in = ((image / 255.0 - np.array(gluon.GLUON_MEAN)) / np.array(gluon.GLUON_STD)).transpose(2, 0, 1)[None]
    net(mx.nd.array(gluon_in))  # settles deferred shapes
    for block in net.features:  # non-zero biases, so their mapping is tested too
        if isinstance(block, mx.gluon.nn.Conv2D):
            block.bias.set_data(mx.nd.array(rng.normal(0, 0.1, block.bias.shape)))
    net.save_parameters(str(tmp_path / "vgg19-gluon.params"))

    x = mx.nd.array(gluon_in)
    convs = 0
    for block in net.features:
        x = block(x)
        convs += isinstance(block, mx.gluon.nn.Conv2D)
        if convs == 16 and isinstance(block, mx.gluon.nn.Activation):
            break
    want = x.asnumpy()

    net, arrays, mean = gluon.arrays_of(tmp_path / "vgg19-gluon.params")
    converted = W.load(gluon.convert(tmp_path / "vgg19-gluon.params", tmp_path / "converted.params"))
    assert net.name == converted.network == "vgg19"
    assert converted.pretrained is False and "not the model zoo's release" in converted.origin
    weights = W.Weights(arrays, mean, "test:gluon", "none")
    ours = np.float32(image) - np.float32(mean)
    graph = LossGraph(weights, [CodeTerm("relu5_4")], (1, 3, 32, 32), pooling="max")
    got = graph.codes(ours.transpose(2, 0, 1)[None])["relu5_4"]
    assert got.shape == want.shape == (1, 512, 2, 2)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-4


def test_gluon_conversion_refuses_other_files(tmp_path, random_weights):
    path = W.save(tmp_path / "ours.params", random_weights.arrays, W.CAFFE_MEAN_RGB, origin="x", pretrained=False)
    with pytest.raises(FmiError, match="is not a Gluon VGG parameter file"):
        gluon.arrays_of(path)
    with pytest.raises(FmiError, match="not found$"):
        gluon.arrays_of(tmp_path / "missing.params")
    (tmp_path / "noise.params").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(FmiError, match=r"is not a Gluon VGG parameter file \(MXNet cannot read it\)$"):
        gluon.arrays_of(tmp_path / "noise.params")


def test_fetch_offline_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")  # nothing listens on port 9
    with pytest.raises(FmiError) as info:
        gluon.fetch(tmp_path / "vgg19.params", "vgg19", root=str(tmp_path / "zoo"))
    message = str(info.value)
    assert "http://127.0.0.1:9/gluon/models/vgg19-" in message and str(tmp_path / "zoo") in message
    assert "\n" not in message and not (tmp_path / "vgg19.params").exists()


def test_fetch_uses_a_cached_zoo_file_and_checks_its_sha1(tmp_path, monkeypatch):
    """A file already in the zoo folder with the wrong sha1 is re-fetched (here: fails offline), never used."""
    from mxnet.gluon.model_zoo import model_store

    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / f"vgg19-{model_store.short_hash('vgg19')}.params").write_bytes(b"not the real file")
    with pytest.raises(FmiError, match="cannot fetch VGG-19"):
        gluon.fetch(tmp_path / "vgg19.params", "vgg19", root=str(zoo))
