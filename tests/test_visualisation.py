"""Feature visualisation: the Fourier parameterisation against numpy, the colour decorrelation, gradients
through the parameterisation and the affine transforms, the objective doing its job, transforms that
repeat per seed, and the atlas's visualisation column with its agreement score."""
import json

import numpy as np
import pytest

import fmi_mx
from fmi_mx.backend.mx import mx
from fmi_mx.cli import main
from fmi_mx.core.image import images, param, transforms
from fmi_mx.core.network import weights as W
from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.run.graphkey import View
from fmi_mx.core.objectives.losses import ChannelObjective, CodeTerm
from fmi_mx.core.optimisation.settings import Settings

import fourier_reference
from gradients import assert_gradient_matches


@pytest.mark.parametrize("height,width", [(8, 8), (7, 10), (12, 9)])
def test_the_inverse_dft_matrices_are_numpys_irfft2(height, width):
    rng = np.random.default_rng(height * width)
    a, b = rng.normal(size=(2, 2, 3, height, width // 2 + 1))
    np.testing.assert_allclose(fourier_reference.irfft2(a, b, height, width), np.fft.irfft2(a + 1j * b, s=(height, width)),
                               atol=1e-12)


@pytest.mark.parametrize("height,width", [(16, 16), (12, 15)])
def test_the_graph_turns_a_spectrum_into_numpys_image(height, width):
    """The whole parameterisation in MXNet (scaled spectrum, inverse DFT, decorrelation, sigmoid, mean)
    against numpy's irfft2 and the same steps in float64: within 1e-5 of the 0..255 range."""
    w = W.random_he(0)
    graph = LossGraph(w, [CodeTerm("relu1_1")], (2, 3, height, width), view=View("fourier"))
    spectrum = np.random.default_rng(1).normal(0, 0.05, graph.data.shape).astype(np.float32)
    graph.data[:] = spectrum
    ours = graph.images()
    for i in range(2):
        want = fourier_reference.fourier_image(spectrum[i].astype(np.float64), height, width, w.mean_rgb)
        assert np.abs(ours[i] - want).max() / 255.0 < 1e-5


def test_the_colour_decorrelation_mixes_channels_by_the_normalised_square_root():
    x = np.random.default_rng(2).normal(size=(3, 5, 4))
    by_hand = np.stack([sum(param.COLOUR[i, j] * x[j] for j in range(3)) for i in range(3)])
    np.testing.assert_allclose(param.decorrelate(x), by_hand, atol=1e-12)
    assert np.linalg.norm(param.COLOUR, axis=0).max() == pytest.approx(1.0)
    assert abs(np.linalg.det(param.COLOUR)) > 1e-3  # invertible: no colour is lost


def test_gradients_flow_through_the_parameterisation_and_the_affine_sampler(biased_weights):
    """d(loss)/d(spectrum) from MXNet equals central differences, with a transform stage (pad, rotation,
    scale, shift) between the image and the network."""
    view = View("fourier", 1.0, 2)
    graph = LossGraph(biased_weights, [CodeTerm("relu1_1")], (1, 3, 12, 12), view=view)
    rng = np.random.default_rng(3)
    graph.set_targets([rng.uniform(0, 20, (1, 64, 16, 16)).astype(np.float32)])
    t = Settings().replace(pad=2, jitter=1, scale=0.1, rotate=15.0, shift=1).transform
    graph.set_affine(transforms.draw(np.random.default_rng(4), t, 12, 12).reshape(1, 6))
    x = rng.normal(0, 0.05, graph.data.shape).astype(np.float32)
    assert_gradient_matches(graph, x, rng, eps=1e-3, abs_tolerance=0)


@pytest.mark.slow
def test_a_tiny_visualisation_drives_its_filter_far_above_its_start():
    """60 updates at 32 px (without the random transforms, which are meant for pictures of 128 px and more):
    filter 3 of an untrained relu2_1 goes from a mean activation of about 0.5 on the start image to about 45."""
    image, record = fmi_mx.visualise(layer="relu2_1", filter=3, weights="random", size=32, max_iterations=60, seed=3,
                                     pad=0, jitter=0, scale=0.0, rotate=0.0, shift=0)
    x0 = param.initial("fourier", param.of("fourier").variable_shape(1, 32, 32), 3, Settings().init_range)
    graph = LossGraph(W.random_he(0), [ChannelObjective("relu2_1")], (1, 3, 32, 32), view=View("fourier"))
    graph.data[:] = x0
    before = graph.current_codes()["relu2_1"][0, 3].mean()
    assert 0 < before and record["activation"]["relu2_1"] > 20 * before
    assert record["task"]["optimise"]["param"] == "fourier" and record["iterations"] == 60


def test_the_random_transforms_repeat_per_seed():
    t = Settings().replace(pad=12, jitter=8, scale=0.1, rotate=10.0, shift=4).transform
    runs = [[transforms.draw(np.random.default_rng([seed, 3]), t, 64, 48) for _ in range(5)] for seed in (1, 1, 2)]
    np.testing.assert_array_equal(np.stack(runs[0]), np.stack(runs[1]))
    assert not np.allclose(np.stack(runs[0]), np.stack(runs[2]))
    still = transforms.draw(np.random.default_rng(0), Settings().transform, 64, 48)
    np.testing.assert_array_equal(still, [[1, 0, 0], [0, 1, 0]])  # no transform: the identity


def test_the_sampler_at_the_identity_returns_the_padded_image():
    data = mx.sym.Variable("data")
    x = np.random.default_rng(5).normal(size=(2, 3, 6, 8)).astype(np.float32)
    stage = transforms.symbol(data, View("pixel", 1.0, 1), 6, 8)
    out = stage.bind(mx.cpu(), {"data": mx.nd.array(x), "affine": mx.nd.array(np.tile([1, 0, 0, 0, 1, 0], (2, 1)))}
                     ).forward()[0].asnumpy()
    np.testing.assert_allclose(out[:, :, 1:-1, 1:-1], x, atol=1e-5)
    assert np.abs(out[:, :, 0]).max() < 1e-6  # the padding: the mean colour, 0 in the network's input


@pytest.mark.slow
def test_the_atlas_shows_each_visualisation_and_scores_its_agreement(tmp_path):
    config = tmp_path / "a.yaml"
    config.write_text("name: va\nfigure: atlas\nnetwork: vgg16\nweights: random:0\nsize: 32\n"
                      "optimise: {max_iterations: 4}\npanels:\n"
                      "  - {mode: feature_map, contents: [sample:astronaut, sample:coffee], layers: [relu2_2], "
                      "filters: 0-3}\n  - {mode: activation, layers: [relu2_2], filters: 0-3}\n")
    assert main(["atlas", str(config), "--runs", str(tmp_path / "runs")]) == 0
    root = tmp_path / "runs" / "va"
    agreement = json.loads((root / "scores.json").read_text())["layers"]["relu2_2"]["agreement"]
    summary = agreement["summary"]
    assert summary["filters"] == 4 and summary["chance_accuracy"] == 0.25
    per = [agreement["filters"][str(k)]["agreement_accuracy"] for k in range(4)]
    assert summary["agreement_accuracy"] == pytest.approx(np.mean(per))
    assert all(len(agreement["filters"][str(k)]["ranks"]) == 2 for k in range(4))
    page = (root / "atlas" / "relu2_2" / "1.html").read_text()
    assert 'id="visual"' in page and "agreement with its FMI textures" in page
    assert 'class="visual"' in (root / "atlas" / "relu2_2.html").read_text()
    assert (root / "visualisation-relu2_2.png").is_file() and (root / "visualisation-relu2_2.pdf").is_file()


def test_the_command_line_the_api_and_a_config_make_the_same_visualisation(tmp_path):
    """One default per task kind, whatever the entry point: the same job gives the same bytes."""
    import json

    from fmi_mx.cli import main

    settings = dict(layer="relu2_1", filter=3, size=32, max_iterations=5, seed=2)
    image, record = fmi_mx.visualise(weights="random", pad=0, jitter=0, scale=0.0, rotate=0.0, shift=0, **settings)
    out = tmp_path / "cli.png"
    assert main(["visualise", "--weights", "random", "--layer", "relu2_1", "--filter", "3", "--size", "32",
                 "--max-iterations", "5", "--seed", "2", "--pad", "0", "--jitter", "0", "--scale", "0", "--rotate", "0",
                 "--shift", "0", "--out", str(out)]) == 0
    config = tmp_path / "v.yaml"
    config.write_text("name: v\nfigure: none\nweights: random\nsize: 32\noptimise: {max_iterations: 5, pad: 0, "
                      "jitter: 0, scale: 0, rotate: 0, shift: 0}\npanels:\n  - mode: activation\n    layers: [relu2_1]\n"
                      "    filters: [3]\n    seeds: [2]\n")
    assert main(["run", str(config), "--runs", str(tmp_path / "runs")]) == 0
    from_config = next((tmp_path / "runs" / "v").glob("*/result.png"))
    cli_record = json.loads(out.with_suffix(".json").read_text())
    config_record = json.loads(from_config.with_name("result.json").read_text())
    assert record["task"]["optimise"]["weight_decay"] == 0.0
    assert cli_record["task"]["optimise"] == config_record["task"]["optimise"] == record["task"]["optimise"]
    assert from_config.read_bytes() == out.read_bytes()
    np.testing.assert_array_equal(images.read(str(out)), image)


def test_a_filter_that_never_fires_is_restarted_then_reported(tmp_path, capsys):
    """Filter 3 of relu2_1 with a bias of -1e6 is zero for every picture: each fresh start finds no slope,
    and after the restarts the run says so in one line and exits 1 (not "converged")."""
    import json

    from fmi_mx.core.run import engine

    arrays = dict(W.random_he(0).arrays)
    arrays["conv2_1_bias"] = arrays["conv2_1_bias"].copy()
    arrays["conv2_1_bias"][3] = -1e6
    path = W.save(tmp_path / "dead.params", arrays, W.CAFFE_MEAN_RGB, origin="test: a dead filter", pretrained=False)
    out = tmp_path / "v.png"
    assert main(["visualise", "--weights", str(path), "--layer", "relu2_1", "--filter", "3", "--size", "32",
                 "--max-iterations", "5", "--pad", "0", "--jitter", "0", "--scale", "0", "--rotate", "0", "--shift", "0",
                 "--out", str(out)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fmi-mx: error")]
    assert len(err) == 1 and f"from {engine.RESTARTS} fresh ones" in err[0]
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["stop_reason"] == "never_fired" and record["restarts"] == engine.RESTARTS
    assert record["activation"]["relu2_1"] == 0.0
    live, live_record = fmi_mx.visualise(layer="relu2_1", filter=4, weights=str(path), size=32, max_iterations=5,
                                         pad=0, jitter=0, scale=0.0, rotate=0.0, shift=0)
    assert live_record["stop_reason"] != "never_fired" and "restarts" not in live_record


def test_fresh_starts_differ_from_the_first_and_repeat():
    first = param.initial("fourier", (1, 3, 8, 5, 2), 7, 0.1)
    again = param.initial("fourier", (1, 3, 8, 5, 2), 7, 0.1, restart=1)
    assert not np.array_equal(first, again)
    np.testing.assert_array_equal(again, param.initial("fourier", (1, 3, 8, 5, 2), 7, 0.1, restart=1))
