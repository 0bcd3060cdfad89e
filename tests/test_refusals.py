"""What a hostile or careless user gives must be refused in one line that names it, before any compute:
API weights of the wrong type, duplicate YAML keys, configs that would expand without bound."""
import re
import time

import pytest

import fmi_mx
from fmi_mx.cli import main
from fmi_mx.errors import FmiError


@pytest.mark.parametrize("bad", [{}, 0, False, [], "", 123, 1.5, b"random", ["random"]])
def test_api_weights_of_the_wrong_kind_are_one_line(bad):
    with pytest.raises(FmiError, match=r"^weights .*: expected a params file path, 'random' or 'random:SEED'") as info:
        fmi_mx.invert("sample:astronaut", layers="relu1_1", weights=bad, size=16, max_iterations=1)
    assert "\n" not in str(info.value)


def test_api_weights_may_be_a_path(tmp_path):
    from fmi_mx.core.network import weights as W

    path = W.save(tmp_path / "r.params", W.random_he(0).arrays, W.CAFFE_MEAN_RGB, origin="random-he:seed=0",
                  pretrained=False)
    image, record = fmi_mx.invert("sample:astronaut", layers="relu1_1", weights=path, size=16, max_iterations=1)
    assert record["weights"]["source"] == f"file:{path}" and image.shape[2] == 3


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


PANEL = "  - mode: feature_map\n    contents: [sample:astronaut]\n    layers: [relu1_1]\n    filters: [0]\n"


@pytest.mark.parametrize("text,message", [
    ("name: a\npanels:\n" + PANEL + "panels:\n" + PANEL, r"c.yaml:7:1: key 'panels' is given twice \(lines 2 and 7\)"),
    ("name: a\noptimise: {max_iterations: 2, max_iterations: 5}\npanels:\n" + PANEL,
     r"c.yaml:2:31: key 'max_iterations' is given twice \(lines 2 and 2\)"),
])
def test_a_key_given_twice_is_an_error_naming_it_and_its_lines(tmp_path, capsys, text, message):
    assert main(["run", str(write(tmp_path, text)), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0])


def test_a_merged_key_may_be_overridden(tmp_path, capsys):
    text = ("name: a\nfigure: none\nweights: random\npanels:\n  - &p\n    mode: feature_map\n    contents: [sample:astronaut]\n"
            "    layers: [relu1_1]\n    filters: [0]\n  - {<<: *p, filters: [1]}\n")
    assert main(["run", str(write(tmp_path, text)), "--dry-run"]) == 0
    assert "2 jobs" in capsys.readouterr().out


def test_an_alias_bomb_and_an_oversized_config_are_refused_at_once(tmp_path, capsys):
    from fmi_mx.sweep import config

    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = write(tmp_path, "\n".join(rows) + "\n", "bomb.yaml")
    start = time.perf_counter()
    with pytest.raises(FmiError, match=f"bomb.yaml:.*more than {config.MAX_ALIASES} aliases"):
        config.load(bomb)
    assert time.perf_counter() - start < 1.0
    huge = write(tmp_path, "name: a\npanels:\n" + PANEL.replace("[0]", "[" + ", ".join(["0"] * 400_000) + "]"),
                 "huge.yaml")
    start = time.perf_counter()
    with pytest.raises(FmiError, match=r"huge.yaml is [\d,]+ bytes, over the 1,048,576 a config may have"):
        config.load(huge)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("figure", ["fig3", "fig4", "fig5"])
def test_activation_panels_in_a_paper_figure_are_refused_before_compute(tmp_path, capsys, figure):
    text = (f"name: a\nfigure: {figure}\nweights: random\npanels:\n" + PANEL +
            "  - mode: activation\n    layers: [relu1_1]\n    filters: [0]\n")
    assert main(["run", str(write(tmp_path, text)), "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"panels[1].mode: {figure} lays out inversions and style transfers" in err[0]
    assert not (tmp_path / "runs" / "a").exists() or not list((tmp_path / "runs" / "a").glob("*/result.json"))


def test_empty_outputs_and_a_file_as_runs_folder_are_refused(tmp_path, capsys):
    assert main(["weights", "fetch", "vgg16", "--out", ""]) == 2
    a_file = write(tmp_path, "not a folder", "runs")
    config = write(tmp_path, "name: a\nweights: random\npanels:\n" + PANEL)
    assert main(["check", str(config), "--runs", str(a_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith("weights output: an empty path; name a file")
    assert err[1].endswith(f"--runs {a_file} is a file: name the folder that holds (or will hold) the runs")


def test_a_claim_with_one_weight_set_twice_and_an_unused_visualisation_is_refused(tmp_path, capsys):
    text = ("name: c\nfigure: claim\nweight_sets:\n  - {name: a, network: vgg19, weights: 'random:0'}\n"
            "  - {name: b, network: vgg19, weights: random}\n"
            "panels:\n  - {mode: feature_map, contents: [sample:astronaut, sample:coffee], layers: [relu1_1], "
            "filters: [0, 1]}\n  - {mode: activation, layers: [relu2_1], filters: [0]}\n")
    assert main(["claim", str(write(tmp_path, text)), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "weight_sets[1]: the same network and weights as weight_sets[0] ('a')" in err
    assert "panels[1].layers: relu2_1: no feature_map panel inverts this layer" in err


def test_continuous_batching_with_lbfgs_is_refused_when_the_config_is_read(tmp_path, capsys):
    text = "name: a\nfigure: none\nweights: random\ncontinuous: true\noptimise: {method: lbfgs}\npanels:\n" + PANEL
    assert main(["run", str(write(tmp_path, text)), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "continuous: panels[0] optimises with lbfgs, and continuous batching streams only sgd and adam" in err
    assert main(["run", str(write(tmp_path, text.replace("method: lbfgs", "method: adam"))), "--dry-run"]) == 0


def test_continuous_batching_with_snapshots_is_not_taken_for_a_method_that_cannot_stream(tmp_path, capsys):
    """Snapshots run in plain batches (a stream's slots change hands); that is no reason to blame the method."""
    text = "name: a\nfigure: none\nweights: random\ncontinuous: true\nsave_every: 5\npanels:\n" + PANEL
    assert main(["run", str(write(tmp_path, text)), "--dry-run"]) == 0
    assert "continuous batching streams only" not in capsys.readouterr().err
