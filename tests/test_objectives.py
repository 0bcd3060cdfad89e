"""Objectives that compose: the grammar read back from its own text, terms grouped per layer, the composed
loss and its gradient against numpy and finite differences, and a composed visualisation end to end."""
import numpy as np
import pytest

import fmi_mx
from fmi_mx.cli import main
from fmi_mx.core.objectives import compose
from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.tasks import Visualisation
from fmi_mx.errors import FmiError, Invalid
from fmi_mx.core.objectives.compose import channel, neuron

from gradients import assert_gradient_matches, graph_loss


def test_objectives_compose_and_read_back_from_their_text():
    composed = channel("relu4_2", 5) - 0.5 * channel("relu4_2", 9) + 2 * neuron("relu3_1", 1)
    assert str(composed) == "channel(relu4_2, 5) - 0.5 * channel(relu4_2, 9) + 2 * neuron(relu3_1, 1)"
    assert compose.parse(str(composed)) == composed
    assert compose.parse("-channel(relu1_1,3)+1e-1*channel(relu1_1,3)").atoms[0].weight == -1.0
    assert composed.layers == ("relu4_2", "relu3_1")
    assert (-channel("relu1_1", 0)).atoms[0].weight == -1.0
    merged = (channel("relu1_1", 2) + channel("relu1_1", 2) - 0.5 * channel("relu1_1", 4)).groups()
    assert merged == [("channel", "relu1_1", {2: 2.0, 4: -0.5})]


@pytest.mark.parametrize("text,where", [
    ("channel(relu4_2, 5) 0.5 * channel(relu4_2, 9)", "character 21"),  # a missing operator
    ("channel(relu9_1, 5)", "relu9_1"),
    ("chanel(relu1_1, 5)", "character 1"),
    ("", "expected an expression"),
    ("channel(relu1_1, 5) +", "character 21"),
])
def test_a_bad_objective_names_where_it_stops_making_sense(text, where):
    with pytest.raises(FmiError, match=where):
        compose.parse(text)


def test_an_expression_leaves_layer_and_filter_to_itself():
    with pytest.raises(Invalid, match="names its own layers and filters"):
        Visualisation(objective="channel(relu1_1, 3)", layers=("relu1_1",), filter=3, size=16)
    with pytest.raises(Invalid, match="filter"):
        Visualisation(objective="channel(relu1_1, 300)", size=16)  # relu1_1 has 64 filters
    with pytest.raises(Invalid, match="needs a filter index"):
        Visualisation(layers=("relu1_1",), size=16)


def test_a_composed_loss_and_its_gradient_against_numpy_and_finite_differences(biased_weights):
    task = Visualisation(objective="channel(relu1_1, 3) - 0.5 * channel(relu1_1, 7) + 2 * neuron(relu2_1, 2)",
                         size=12)
    terms = task.terms(12, 12)
    assert [(t.NAME, t.layer) for t in terms] == [("channel", "relu1_1"), ("neuron", "relu2_1")]
    targets = task.targets(terms, {}, {})
    assert targets[0][3] == 1.0 and targets[0][7] == -0.5 and targets[1][2] == 2.0 and targets[0].sum() == 0.5
    graph = LossGraph(biased_weights, terms, (1, 3, 12, 12))
    graph.set_targets([t[None] for t in targets])
    rng = np.random.default_rng(5)
    x = rng.uniform(-20, 20, graph.data.shape).astype(np.float32)

    loss = graph_loss(graph)
    codes = graph.codes(x)
    by_hand = sum(t.value(codes[t.layer][0], target) for t, target in zip(terms, targets))
    # the loss is minus the objective: mean of 3 - 0.5 mean of 7 at relu1_1, plus 2 x filter 2 at relu2_1's centre
    objective = codes["relu1_1"][0, 3].mean() - 0.5 * codes["relu1_1"][0, 7].mean() + 2 * codes["relu2_1"][0, 2, 3, 3]
    assert loss(x) == pytest.approx(by_hand, rel=1e-5) and by_hand == pytest.approx(-objective, rel=1e-5)
    assert_gradient_matches(graph, x, rng, eps=1e-2)


def test_a_composed_visualisation_runs_from_the_api_and_from_a_config(tmp_path, capsys):
    common = dict(size=32, max_iterations=40, weights="random", param="pixel", pad=0, jitter=0, scale=0, rotate=0,
                  shift=0, remove_noise=0)
    image, record = fmi_mx.visualise(objective=channel("relu1_1", 3) - 0.5 * channel("relu1_1", 7), **common)
    assert image.shape == (32, 32, 3) and record["task"]["objective"] == "channel(relu1_1, 3) - 0.5 * channel(relu1_1, 7)"
    losses = [loss for _, loss, _ in record["history"]]
    assert losses[-1] < losses[0]  # the objective rises
    assert set(record["activation"]) == {"channel(relu1_1, 3)", "channel(relu1_1, 7)"}
    config = tmp_path / "c.yaml"
    config.write_text("name: c\nfigure: none\nweights: random\nsize: 32\npanels:\n"
                      "  - {mode: activation, objective: 'channel(relu2_1, 4) + neuron(relu1_1, 0)'}\n")
    assert main(["run", str(config), "--dry-run", "--runs", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "1 jobs" in out and "layer=channel(relu2_1, 4) + neuron(relu1_1, 0)" in out
    config.write_text(config.read_text().replace("objective:", "layers: [relu1_1], objective:"))
    assert main(["run", str(config), "--dry-run", "--runs", str(tmp_path / "runs")]) == 2
    assert "names its own layers and filters" in capsys.readouterr().err


def test_diversity_couples_a_batch_and_its_gradient_matches_finite_differences(biased_weights):
    """The diversity head of each sample is weight x its Gram matrix's cosine similarity with the others', over
    the batch size; the gradient flows across samples and matches central differences."""
    task = Visualisation(objective="channel(relu1_1, 3) + 4 * diversity(relu1_1)", size=8)
    terms = task.terms(8, 8)
    assert [(t.NAME, t.weight, t.COUPLED) for t in terms] == [("channel", 1.0, False), ("diversity", 4.0, True)]
    targets = task.targets(terms, {}, {})
    graph = LossGraph(biased_weights, terms, (3, 3, 8, 8))
    graph.set_targets([np.stack([t] * 3) for t in targets])
    rng = np.random.default_rng(7)
    x = rng.uniform(-20, 20, graph.data.shape).astype(np.float32)
    codes = graph.codes(x)["relu1_1"]
    graph.executor.forward(is_train=False)
    per_sample = graph.loss_outputs()[1].asnumpy()
    np.testing.assert_allclose(per_sample, terms[1].value(codes, targets[1]), rtol=1e-4)
    units = np.stack([terms[1].statistic(c.astype(np.float64)) for c in codes])
    assert per_sample[0] == pytest.approx(4 * (units[0] @ units[1] + units[0] @ units[2]) / 3, rel=1e-4)
    assert_gradient_matches(graph, x, rng, eps=1e-2)


def test_a_diverse_batch_is_less_alike_and_a_sweep_refuses_it(tmp_path, capsys):
    """Three samples of one filter: without diversity their Gram matrices at relu2_1 are nearly the same
    (cosine similarity above 0.99); with it, well apart. A config cannot hold it: its jobs are runs of their own."""
    from fmi_mx.core.objectives.compose import diversity

    common = dict(size=32, max_iterations=60, weights="random", param="pixel", pad=0, jitter=0, scale=0, rotate=0,
                  shift=0, remove_noise=0)

    def activation(records_):
        return np.mean([r["activation"]["channel(relu2_1, 4)"] for r in records_])

    alike, records = fmi_mx.visualise(samples=3, objective=channel("relu2_1", 4), **common)
    apart, diverse = fmi_mx.visualise(samples=3, objective=channel("relu2_1", 4) + diversity("relu2_1"), **common)
    assert alike.shape == apart.shape == (3, 32, 32, 3) and [r["task"]["seed"] for r in diverse] == [0, 1, 2]
    w = fmi_mx.load_weights("random")
    from fmi_mx.core.image import images
    from fmi_mx.core.network.encoder import Encoder
    from fmi_mx.core.objectives.losses import DiversityTerm

    encoder = Encoder(w, ("relu2_1",), (3, 3, 32, 32))

    def mean_similarity(pictures):
        codes = encoder.codes(np.concatenate([images.preprocess(p, w.mean_rgb) for p in pictures]))["relu2_1"]
        units = np.stack([DiversityTerm("relu2_1").statistic(c.astype(np.float64)) for c in codes])
        return (units @ units.T)[np.triu_indices(3, 1)].mean()

    assert mean_similarity(alike) > 0.99 and mean_similarity(apart) < 0.6
    assert activation(records) > 0 and activation(diverse) > 0  # the filter still fires
    with pytest.raises(FmiError, match="diversity\\(relu2_1, 4\\): takes a layer alone"):
        compose.parse("diversity(relu2_1, 4)")
    with pytest.raises(FmiError, match="samples must be a whole number >= 1, not 0"):
        fmi_mx.visualise(samples=0, **common)
    config = tmp_path / "c.yaml"
    config.write_text("name: c\nfigure: none\nweights: random\nsize: 32\npanels:\n"
                      "  - {mode: activation, objective: 'channel(relu2_1, 4) + diversity(relu2_1)'}\n")
    assert main(["run", str(config), "--dry-run", "--runs", str(tmp_path / "runs")]) == 2
    assert "panels[0].objective: diversity couples the images of one batch" in capsys.readouterr().err
