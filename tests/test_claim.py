"""The claim's statistics (bootstrap intervals, differences, ROC AUC) against numbers known in advance,
and a claim run end to end on tiny untrained networks."""
import json

import numpy as np
import pytest

from fmi_mx.atlas.texture import layer_score
from fmi_mx.claim import stats
from fmi_mx.cli import main
from fmi_mx.core.run.engine import Runner

from test_atlas_score import CROPS, SIZE, TEXTURES, _texture


def test_the_bootstrap_interval_of_a_known_sample():
    """Half zeros, half ones (n = 200): mean 0.5, standard error 0.5 / sqrt(200) = 0.0354, so the 95%
    interval is 0.5 +- 0.069 to within the bootstrap's own noise."""
    sample = np.array([0.0, 1.0] * 100)
    mean, low, high = stats.bootstrap_interval(sample, seed=1)
    assert mean == 0.5
    assert low == pytest.approx(0.5 - 1.96 * 0.0354, abs=0.012) and high == pytest.approx(0.5 + 1.96 * 0.0354, abs=0.012)
    assert stats.bootstrap_interval(sample, seed=1) == (mean, low, high)  # a fixed seed: the same interval
    assert stats.bootstrap_interval(sample, seed=1).row("acc") == {"acc": mean, "acc_low": low, "acc_high": high}
    assert stats.bootstrap_interval([0.7] * 9) == (0.7, 0.7, 0.7)
    assert stats.bootstrap_interval([0.2, np.nan, 0.4])[0] == pytest.approx(0.3)  # NaN: a filter left out
    assert all(np.isnan(stats.bootstrap_interval([np.nan])))


def test_the_difference_of_two_identical_sets_is_centred_on_zero():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 1, 64)
    assert stats.paired_difference(a, a) == (0.0, 0.0, 0.0)
    b = rng.permutation(a)  # the same values, other filters: no difference on average
    mean, low, high = stats.paired_difference(a, b)
    assert mean == pytest.approx(0.0, abs=1e-12) and low < 0 < high
    shifted = stats.paired_difference(a + 0.1, a)
    assert shifted == pytest.approx((0.1, 0.1, 0.1))


def test_an_unpaired_difference_and_its_interval():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 0.1, 400), rng.normal(0.0, 0.1, 300)
    mean, low, high = stats.difference(a, b)
    assert mean == pytest.approx(a.mean() - b.mean()) and low < mean < high
    # standard error sqrt(0.01/400 + 0.01/300) = 0.0076: the 95% interval is about +-0.015
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(0.01 / 400 + 0.01 / 300), rel=0.2)
    assert all(np.isnan(stats.difference([np.nan], [1.0])))


def test_the_roc_auc_of_separated_overlapping_and_tied_distances():
    assert stats.roc_auc([3.0, 4.0], [1.0, 2.0]) == 1.0  # every different pair farther than every same pair
    assert stats.roc_auc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert stats.roc_auc([1.0, 3.0], [2.0]) == 0.5
    assert stats.roc_auc([2.0], [2.0]) == 0.5  # a tie counts half
    rng = np.random.default_rng(4)
    assert stats.roc_auc(rng.normal(size=2000), rng.normal(size=2000)) == pytest.approx(0.5, abs=0.03)
    # two unit normals one standard deviation apart: AUC = Phi(1 / sqrt 2) = 0.760
    assert stats.roc_auc(rng.normal(1, 1, 3000), rng.normal(0, 1, 3000)) == pytest.approx(0.760, abs=0.02)
    assert np.isnan(stats.roc_auc([], [1.0]))


@pytest.fixture(scope="module")
def runner(random_weights):
    return Runner(random_weights)


def test_known_textures_give_one_with_a_closed_interval(runner):
    grid = [[_texture(name, corner) for corner in CROPS] for name in TEXTURES]
    result = layer_score(runner, grid, list(range(len(TEXTURES))))
    assert stats.bootstrap_interval(result.accuracy) == (1.0, 1.0, 1.0)


def test_noise_gives_chance_inside_its_interval(runner):
    rng = np.random.default_rng(0)
    grid = [[rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in CROPS] for _ in range(16)]
    result = layer_score(runner, grid, list(range(16)))
    mean, low, high = stats.bootstrap_interval(result.accuracy)
    assert low <= result.summary["chance_accuracy"] <= high and high - low < 0.4


CLAIM = """name: tiny-claim
figure: claim
size: 32
optimise: {max_iterations: 4}
weight_sets:
  - {name: a-vgg16, network: vgg16, weights: "random:0"}
  - {name: b-vgg16, network: vgg16, weights: "random:1"}
  - {name: c-vgg19, network: vgg19, weights: "random:0"}
reference: a-vgg16
panels:
  - {mode: feature_map, contents: [sample:astronaut, sample:coffee], layers: [relu1_2, relu3_3], filters: 0-2}
"""


@pytest.mark.slow
def test_a_claim_runs_each_set_then_compares_and_a_rerun_only_rebuilds(tmp_path, capsys):
    config = tmp_path / "claim.yaml"
    config.write_text(CLAIM)
    runs = tmp_path / "runs"
    assert main(["claim", str(config), "--runs", str(runs)]) == 0
    root = runs / "tiny-claim"
    document = json.loads((root / "claim.json").read_text())
    rows = {(r["set"], r["layer"]): r for r in document["rows"]}
    assert set(rows) == {(s, layer) for s in ("a-vgg16", "b-vgg16", "c-vgg19") for layer in ("relu1_2", "relu3_3")}
    row = rows[("b-vgg16", "relu3_3")]
    assert row["filters"] == 3 and row["content_images"] == 2 and row["chance_accuracy"] == pytest.approx(1 / 3)
    assert row["own_accuracy_low"] <= row["own_accuracy"] <= row["own_accuracy_high"]
    assert row["reference_accuracy"] is not None and 0 <= row["colourfulness"] and 0 <= row["complexity"] <= 1
    own = json.loads((root / "b-vgg16" / "scores.json").read_text())["layers"]["relu3_3"]["summary"]
    assert row["own_accuracy"] == pytest.approx(own["identity_accuracy"])
    assert document["reference_descriptor"] == "a-vgg16" and (root / "b-vgg16" / "scores.reference.json").is_file()
    assert document["differences"] == []  # no trained set here: nothing to subtract
    for name in ("claim.csv", "claim.md", "claim.png", "claim.pdf", "claim.html"):
        assert (root / name).is_file()
    page = (root / "claim.html").read_text()
    assert 'href="b-vgg16/atlas/relu3_3.html"' in page and (root / "b-vgg16" / "atlas" / "relu3_3.html").is_file()
    sidecars = {p: p.stat().st_mtime_ns for p in root.glob("*/*/result.json")}
    assert len(sidecars) == 3 * 2 * 3 * 2
    capsys.readouterr()
    assert main(["claim", str(config), "--runs", str(runs)]) == 0  # a re-run: nothing computed again
    out = capsys.readouterr().out
    assert out.count("jobs are finished") == 3 and "scoring with the descriptors" not in out
    assert {p: p.stat().st_mtime_ns for p in root.glob("*/*/result.json")} == sidecars


def test_a_claim_config_is_checked_before_anything_runs(tmp_path, capsys):
    config = tmp_path / "claim.yaml"
    config.write_text(CLAIM.replace("name: c-vgg19", "name: a-vgg16").replace("reference: a-vgg16", "reference: z")
                      .replace("relu3_3", "relu3_4"))
    assert main(["claim", str(config), "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "weight_sets[2].name: 'a-vgg16' names two weight sets" in err
    assert "unknown layer of VGG-16 'relu3_4'" in err and "reference" in err and not (tmp_path / "runs").exists()
    assert "weight_sets[0]" not in err
    config.write_text(CLAIM)
    assert main(["atlas", str(config)]) == 2
    assert "use fmi-mx claim" in capsys.readouterr().err


def test_a_claim_may_measure_draws_and_style_transfers_and_an_atlas_may_not(tmp_path, capsys):
    extra = ("  - {mode: random, contents: [sample:astronaut], layers: [relu1_1], seeds: [1, 2]}\n"
             "  - {mode: pmci, contents: [sample:chelsea], styles: [sample:coffee]}\n"
             "  - {mode: purposeful, contents: [sample:chelsea], styles: [sample:coffee], layers: [relu1_1]}\n")
    config = tmp_path / "claim.yaml"
    config.write_text(CLAIM + extra)
    assert main(["claim", str(config), "--dry-run", "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "panels[3].mode: a claim inverts filters" in err
    assert "panels[3].mode" in err and "not purposeful" in err and "panels[1].mode" not in err
    assert "panels[2].mode" not in err
    atlas = tmp_path / "atlas.yaml"
    atlas.write_text("name: a\nfigure: atlas\nsize: 32\npanels:\n"
                     "  - {mode: feature_map, contents: [sample:astronaut, sample:coffee], layers: [relu1_2], filters: 0-1}\n"
                     + extra)
    assert main(["atlas", str(atlas), "--dry-run", "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert all(f"panels[{i}].mode" in err for i in (1, 2, 3)) and "not random" in err
