"""VGG-16 beside VGG-19: weights know their network, and everything that knows layers follows it."""
import json

import numpy as np
import pytest

import fmi_mx
from fmi_mx.cli import main
from fmi_mx.core.run import memory
from fmi_mx.core import tasks
from fmi_mx.core.network import vgg
from fmi_mx.core.network import weights as W
from fmi_mx.core.run.graphkey import GraphKey
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.errors import FmiError
from fmi_mx.sweep import config, jobs, sharding

from reference import code

SMOKE = "experiments/smoke/fig3.yaml"
VGG16 = vgg.network("vgg16")


@pytest.fixture(scope="module")
def vgg16_random():
    return W.random_he(0, "vgg16")


def test_random_vgg16_weights_have_its_shapes_and_say_so(vgg16_random):
    assert set(vgg16_random.arrays) == set(VGG16.conv_shapes()) and "conv3_4_weight" not in vgg16_random.arrays
    assert vgg16_random.network == "vgg16" and vgg16_random.describe()["network"] == "vgg16"
    assert vgg16_random.source == "random-he:vgg16:seed=0" and vgg16_random.is_random
    assert vgg16_random.title == "untrained VGG-16"
    # drawn from streams of its own: an untrained VGG-16 is not the first layers of an untrained VGG-19
    vgg19_random = W.random_he(0)
    assert not np.array_equal(vgg16_random.arrays["conv1_1_weight"], vgg19_random.arrays["conv1_1_weight"])
    assert vgg16_random.sha256 != vgg19_random.sha256
    np.testing.assert_array_equal(W.random_he(0, "vgg16").arrays["conv5_3_weight"], vgg16_random.arrays["conv5_3_weight"])


@pytest.mark.parametrize("network,layers", [("vgg19", ("relu1_1", "relu3_2")), ("vgg16", ("relu2_1", "relu4_1"))])
def test_activations_match_numpy_for_each_network(network, layers):
    """The MXNet graph of either network equals an independent float64 numpy VGG walked from its table."""
    from fmi_mx.core.run.graph import LossGraph

    rng = np.random.default_rng(3)
    w = W.random_he(1, network)
    arrays = {k: (v if k.endswith("_weight") else rng.normal(0, 0.1, v.shape).astype(np.float32))
              for k, v in w.arrays.items()}
    w = W.Weights(arrays, W.CAFFE_MEAN_RGB, "test", "none", network=network)
    x = rng.uniform(-120, 120, (1, 3, 16, 16)).astype(np.float32)
    got = LossGraph(w, [CodeTerm(name) for name in layers], x.shape).codes(x)
    for name in layers:
        want = code(x[0], arrays, name, network)
        assert np.linalg.norm(got[name][0] - want) / np.linalg.norm(want) < 1e-4


def test_a_weights_file_records_its_network(tmp_path, vgg16_random):
    path = W.save(tmp_path / "v.params", vgg16_random.arrays, W.CAFFE_MEAN_RGB, origin="test", pretrained=False,
                  network="vgg16")
    assert W.load(path).network == "vgg16"
    assert W.resolve(str(path)).network == "vgg16"  # without a network asked for, the file's own
    with pytest.raises(ValueError, match="VGG-19 weights need exactly the keys"):
        W.save(tmp_path / "x.params", vgg16_random.arrays, W.CAFFE_MEAN_RGB, origin="test", pretrained=False)


def test_a_file_without_network_key_is_told_by_its_keys(tmp_path, vgg16_random):
    from fmi_mx.backend.mx import mx

    mx.nd.save(str(tmp_path / "v16.params"), {f"arg:{k}": mx.nd.array(v) for k, v in vgg16_random.arrays.items()})
    assert W.load(tmp_path / "v16.params").network == "vgg16"
    arrays = dict(vgg16_random.arrays)
    del arrays["conv5_3_bias"]
    mx.nd.save(str(tmp_path / "broken.params"), {f"arg:{k}": mx.nd.array(v) for k, v in arrays.items()})
    with pytest.raises(FmiError, match=r"missing key 'arg:conv5_3_bias' \(VGG-16\)"):
        W.load(tmp_path / "broken.params")


def test_weights_of_the_wrong_network_are_one_line_before_compute(tmp_path, vgg16_random, capsys):
    path = W.save(tmp_path / "v.params", vgg16_random.arrays, W.CAFFE_MEAN_RGB, origin="test", pretrained=False,
                  network="vgg16")
    with pytest.raises(FmiError, match=f"weights {path} are VGG-16, but the network asked for is VGG-19: "
                                       "add --network vgg16"):
        W.resolve(str(path), "vgg19")
    out = tmp_path / "r.png"
    assert main(["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", str(path), "--size", "32",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "are VGG-16, but the network asked for is VGG-19" in err[0] and not out.exists()
    runs = tmp_path / "runs"
    assert main(["run", SMOKE, "--set", f"weights={path}", "--runs", str(runs)]) == 2
    assert "are VGG-16" in capsys.readouterr().err and not runs.exists()


def test_layers_and_filters_follow_the_network():
    with pytest.raises(FmiError, match="unknown layer of VGG-16 'relu3_4'"):
        tasks.Inversion(content="sample:astronaut", layers=("relu3_4",), network="vgg16")
    tasks.Inversion(content="sample:astronaut", layers=("relu3_4",))  # VGG-19 has it
    with pytest.raises(FmiError, match="unknown network 'vgg11'"):
        tasks.Inversion(content="sample:astronaut", layers=("relu1_1",), network="vgg11")
    with pytest.raises(FmiError, match="unknown layer of VGG-16 'relu5_4'"):
        tasks.StyleTransfer(content="sample:astronaut", style="sample:brick", content_layer="relu5_4", network="vgg16")


def test_a_config_names_its_network(tmp_path):
    exp = config.load(SMOKE, ["network=vgg16"])
    assert exp.network == "vgg16" and exp.weights == "random:0"
    assert {job.task.network for job in jobs.expand(exp, "sha")} == {"vgg16"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nnetwork: vgg16\nweights: random\nsize: 32\npanels:\n"
                   "  - {mode: feature_map, contents: [sample:astronaut], layers: [relu5_4], filters: [0]}\n")
    with pytest.raises(FmiError, match=r"panels\[0\]\.layers\[0\]: unknown layer of VGG-16 'relu5_4'"):
        config.load(bad)
    with pytest.raises(FmiError, match="network: unknown network 'vgg20'"):
        config.load(SMOKE, ["network=vgg20"])
    # without weights, the network's own file
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: p\nnetwork: vgg16\npanels:\n  - {mode: original, contents: [sample:astronaut], "
                     "layers: [relu1_1]}\n")
    assert config.load(plain).weights == "models/vgg16.params"


def test_filters_all_counts_the_networks_channels():
    net_filters = config.filter_indices("all", "relu5_3", VGG16)
    assert net_filters == tuple(range(512))
    assert config.filter_indices("all", "relu5_3", vgg.VGG19) == tuple(range(512))
    assert config.filter_indices("all", "relu3_4", VGG16) == (0,)  # not a layer there: the task reports it


def test_job_ids_keep_vgg19s_and_tell_the_networks_apart():
    exp = config.load(SMOKE)
    ids19 = [job.id for job in jobs.expand(exp, "sha")]
    ids16 = [job.id for job in jobs.expand(config.load(SMOKE, ["network=vgg16"]), "sha")]
    assert len(set(ids16)) == len(ids16) and not set(ids16) & set(ids19)
    task = jobs.expand(exp, "sha")[0].task
    assert jobs.job_id(task, "sha") == ids19[0]


def test_costs_and_memory_follow_the_network():
    key = GraphKey((CodeTerm("relu4_2"),), (3, 64, 64), "avg", batch=1)
    assert memory.estimate(VGG16, key) < memory.estimate(vgg.VGG19, key)
    assert memory.weight_bytes(VGG16, ["relu5_1"]) < memory.weight_bytes(vgg.VGG19, ["relu5_1"])
    assert memory.weight_bytes(VGG16, ["relu5_3"]) == 4 * 14_714_688
    assert sharding.cost(VGG16, ["relu4_2"], 64, 64, 10) < sharding.cost(vgg.VGG19, ["relu4_2"], 64, 64, 10)
    exp16 = config.load(SMOKE, ["network=vgg16"])
    job16 = jobs.expand(exp16, "sha")[-1]
    assert jobs.job_cost(job16) == sharding.cost(VGG16, job16.task.layers_read(), 32, 32, 8)


@pytest.mark.slow
def test_vgg16_runs_through_the_api_cli_sweep_and_atlas(tmp_path, capsys):
    image, record = fmi_mx.invert("sample:astronaut", layers="relu5_3", mode="feature_map", filter=7,
                                  network="vgg16", weights="random", size=32, max_iterations=3)
    assert image.shape == (32, 32, 3) and record["task"]["network"] == "vgg16"
    assert record["weights"]["network"] == "vgg16" and record["weights"]["source"] == "random-he:vgg16:seed=0"
    out = tmp_path / "s.png"
    assert main(["style", "sample:astronaut", "sample:brick", "--network", "vgg16", "--weights", "random",
                 "--style-layers", "relu1_1,relu5_3", "--size", "32", "--max-iterations", "2", "--out", str(out)]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["weights"]["network"] == "vgg16"
    atlas = tmp_path / "atlas.yaml"
    atlas.write_text("name: a16\nfigure: atlas\nnetwork: vgg16\nweights: random:0\nsize: 32\n"
                     "optimise: {max_iterations: 3}\npanels:\n  - {mode: feature_map, contents: [sample:astronaut, "
                     "sample:coffee], layers: [relu3_3], filters: 0-2}\n")
    assert main(["atlas", str(atlas), "--runs", str(tmp_path / "runs")]) == 0
    root = tmp_path / "runs" / "a16"
    scores = json.loads((root / "scores.json").read_text())
    assert scores["weights"]["network"] == "vgg16" and scores["layers"]["relu3_3"]["summary"]["filters"] == 3
    assert "untrained VGG-16" in (root / "atlas" / "index.html").read_text()
    capsys.readouterr()
