"""The paper's claims measured: each measure's answer on synthetic data known in advance, the verdicts,
and a claim run with random draws and style transfers that writes every claim for every set."""
import json

import numpy as np
import pytest
import skimage.data

from fmi_mx.claim import paper, stats
from fmi_mx.cli import main


def _patch() -> np.ndarray:
    return skimage.data.astronaut()[100:164, 150:214].astype(np.uint8)


def test_recoloured_draws_are_colour_and_rearranged_draws_are_structure():
    picture = _patch()
    recoloured = [picture[..., order] for order in ((0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1))]
    rng = np.random.default_rng(0)
    rearranged = [rng.permutation(picture.reshape(-1, 3)).reshape(picture.shape) for _ in range(4)]
    by_colour = paper.draw_distances(recoloured, picture)
    by_structure = paper.draw_distances(rearranged, picture)
    assert len(by_colour["colour"]) == 6 and len(by_colour["colour_to_content"]) == 4  # 4 draws: 6 pairs
    assert paper.colour_share(by_colour["colour"], by_colour["structure"]).mean() > 0.7
    assert paper.colour_share(by_structure["colour"], by_structure["structure"]).mean() < 0.05
    assert min(by_colour["colour_to_content"][1:]) > 0.5 and by_colour["colour_to_content"][0] == pytest.approx(0, abs=1e-6)
    assert min(by_structure["structure_to_content"]) > 0.8


def test_the_auc_of_a_distance_that_separates_paintings_and_of_one_that_does_not():
    labels = np.repeat([0, 1, 2], 6)
    rng = np.random.default_rng(1)
    position = labels + rng.uniform(-0.1, 0.1, labels.size)  # crops of a painting lie together
    separated = np.abs(position[:, None] - position[None, :])
    assert paper.pair_auc(separated, labels, resamples=200) == (1.0, 1.0, 1.0)
    scattered = rng.uniform(0, 1, (labels.size, labels.size))
    scattered = (scattered + scattered.T) / 2
    auc, low, high = paper.pair_auc(scattered, labels, resamples=200)
    assert low < 0.5 < high and abs(auc - 0.5) < 0.15


def test_crops_have_the_size_asked_and_a_seed_fixes_them():
    painting = skimage.data.coffee()
    first = paper.crops(painting, 32, 5, seed=3)
    assert len(first) == 5 and all(c.shape == (32, 32, 3) for c in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, paper.crops(painting, 32, 5, seed=3)))
    assert not all(np.array_equal(a, b) for a, b in zip(first, paper.crops(painting, 32, 5, seed=4)))


def _claim(holds):
    return paper.Claim("x", "claim", "measure", {name: paper.Finding(1.0, 0.5, 1.5, h) for name, h in holds.items()})


def test_verdicts_say_where_a_claim_holds():
    trained, untrained = ["t19", "t16"], ["u19"]
    assert paper.verdict(_claim({"t19": True, "t16": True, "u19": False}), trained, untrained) == \
        "holds on trained weights, not on untrained weights: it comes with training"
    assert paper.verdict(_claim({"t19": True, "t16": True, "u19": True}), trained, untrained).endswith(
        "on untrained weights too: the architecture gives it, not training")
    assert paper.verdict(_claim({"t19": True, "t16": False, "u19": False}), trained, untrained).startswith(
        "holds on t19 only")
    assert paper.verdict(_claim({"t19": False, "t16": False, "u19": True}), trained, untrained) == \
        "does not hold on trained weights"
    assert paper.verdict(_claim({"u19": True}), trained, untrained) == "not measured on trained weights"


def test_a_finding_holds_by_its_interval():
    assert paper.Finding.of(stats.Interval(0.8, 0.6, 0.9), lambda low, high: low > 0.5).holds is True
    assert paper.Finding.of(stats.Interval(0.8, 0.4, 0.9), lambda low, high: low > 0.5).holds is False
    assert paper.Finding.of(stats.Interval(np.nan, np.nan, np.nan), lambda low, high: True).value is None


CLAIM = """name: tiny-claims
figure: claim
size: 32
optimise: {max_iterations: 3}
weight_sets:
  - {name: a-vgg16, network: vgg16, weights: "random:0"}
  - {name: b-vgg16, network: vgg16, weights: "random:1"}
panels:
  - {mode: feature_map, contents: [sample:astronaut, sample:coffee], layers: [relu1_2, relu2_2], filters: 0-1}
  - {mode: random, contents: [sample:astronaut], layers: [relu1_1, relu2_1, relu3_1, relu4_1], seeds: [1, 2]}
  - &gram {mode: gram, contents: [sample:chelsea], styles: [sample:coffee, sample:rocket], content_weight: 10,
           style_weight: 1, content_layer: relu2_2, style_layers: [relu1_1, relu2_1]}
  - {<<: *gram, mode: pmci}
"""


@pytest.mark.slow
def test_a_claim_with_draws_and_style_transfers_measures_every_claim(tmp_path):
    config = tmp_path / "claims.yaml"
    config.write_text(CLAIM)
    runs = tmp_path / "runs"
    assert main(["claim", str(config), "--runs", str(runs)]) == 0
    document = json.loads((runs / "tiny-claims" / "claims.json").read_text())
    claims = {(c["key"], c["claim"]): c for c in document["claims"]}
    assert sorted({key for key, _ in claims}) == ["a", "b", "c", "d", "e", "f"]
    for claim in claims.values():
        assert set(claim["findings"]) == {"a-vgg16", "b-vgg16"}
        assert claim["verdict"] == "not measured on trained weights"  # both sets untrained
    for key, _ in claims:
        found = claims[key, _]["findings"]["a-vgg16"]
        if key in "abcdf":
            assert found["low"] <= found["value"] <= found["high"], (key, found)
    shares = [d for d in claims[next(k for k in claims if k[0] == "c")]["details"] if d["set"] == "a-vgg16"]
    assert [d["layer"] for d in shares] == ["relu1_1", "relu2_1", "relu3_1", "relu4_1"] and shares[0]["pairs"] == 1
    aucs = [d for d in claims[next(k for k in claims if k[0] == "f")]["details"]]
    assert {d["descriptor"] for d in aucs} == {"channel_sums", "gram", "colour_histogram"}
    assert all(0.0 <= d["auc"] <= 1.0 for d in aucs)
    # no reference network (no trained set): style identity is not measured, and says so
    e = claims[next(k for k in claims if k[0] == "e")]["findings"]["a-vgg16"]
    assert e["value"] is None and "trained weights" in e["note"]
    text = (runs / "tiny-claims" / "claims.md").read_text()
    assert "| (a) | Every filter extracts a specific texture |" in text and "**(f)" in text
