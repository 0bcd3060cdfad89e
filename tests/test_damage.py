"""Damaged finished results are noticed and redone: each kind of damage to a finished 32 px run or atlas,
then a re-run redoes exactly the damaged jobs, says why in one line each, and ends with the results of
an undamaged run; ``fmi-mx check`` reports the same damage without computing."""
import json
import shutil

import pytest

from fmi_mx.cli import main

pytestmark = pytest.mark.slow
RUN = """name: damage-run
figure: fig3
weights: random:0
size: 32
batch_size: 1
optimise: {max_iterations: 6}
panels:
  - {mode: feature_map, contents: [sample:astronaut, sample:chelsea], layers: [relu1_2, relu2_2], filters: [0, 1]}
"""
ATLAS = RUN.replace("name: damage-run", "name: damage-atlas").replace("figure: fig3", "figure: atlas")


def _finished(tmp_path_factory, text: str, command: str):
    root = tmp_path_factory.mktemp("pristine")
    config = root / "c.yaml"
    config.write_text(text)
    assert main([command, str(config), "--runs", str(root / "runs")]) == 0
    return config, root / "runs"


@pytest.fixture(scope="module")
def pristine_run(tmp_path_factory):
    return _finished(tmp_path_factory, RUN, "run")


@pytest.fixture(scope="module")
def pristine_atlas(tmp_path_factory):
    return _finished(tmp_path_factory, ATLAS, "atlas")


def _copy(pristine, tmp_path):
    config, runs = pristine
    shutil.copytree(runs, tmp_path / "runs")
    return config, tmp_path / "runs" / next(p.name for p in runs.iterdir())


def _jobs(folder):
    return sorted(p.parent.name for p in folder.glob("*/result.json"))


def _redo(command, config, folder, capsys):
    """Re-run; the jobs redone (their sidecars rewritten) and the lines that said why."""
    stamps = {job: (folder / job / "result.json").stat().st_mtime_ns for job in _jobs(folder)}
    capsys.readouterr()
    assert main([command, str(config), "--runs", str(folder.parent)]) == 0
    out = capsys.readouterr().out
    redone = sorted(job for job in _jobs(folder) if (folder / job / "result.json").stat().st_mtime_ns != stamps.get(job))
    return redone, [line for line in out.splitlines() if "runs again" in line]


@pytest.mark.parametrize("damage,why", [
    (lambda d: (d / "result.png").unlink(), "result.png is missing"),
    (lambda d: (d / "result.png").write_bytes((d / "result.png").read_bytes()[:200]), "result.png has 200 bytes"),
    (lambda d: (d / "result.json").write_text(""), "result.json does not parse"),
    (lambda d: (d / "result.json").write_text((d / "result.json").read_text()[:100]), "result.json does not parse"),
    (lambda d: (d / "result.json").write_text("[]"), "result.json is not a job's record"),
], ids=["picture deleted", "picture truncated", "sidecar empty", "sidecar truncated", "sidecar a list"])
def test_a_damaged_job_of_a_run_is_redone_and_equals_an_undamaged_one(pristine_run, tmp_path, capsys, damage, why):
    config, folder = _copy(pristine_run, tmp_path)
    victim = _jobs(folder)[3]
    damage(folder / victim)
    assert main(["check", str(config), "--runs", str(folder.parent)]) == 1
    assert f"{victim}: {why}" in capsys.readouterr().out
    redone, lines = _redo("run", config, folder, capsys)
    assert redone == [victim] and len(lines) == 1 and victim in lines[0] and why in lines[0]
    original = pristine_run[1] / folder.name / victim
    assert (folder / victim / "result.png").read_bytes() == (original / "result.png").read_bytes()
    assert main(["check", str(config), "--runs", str(folder.parent)]) == 0


@pytest.mark.parametrize("damage,why", [
    (lambda d: (d / "result.png").unlink(), "result.png is missing"),
    (lambda d: (d / "raw.png").unlink(), "raw.png is missing"),
], ids=["picture deleted", "raw picture deleted"])
def test_a_damaged_job_of_an_atlas_is_redone_and_scored_again(pristine_atlas, tmp_path, capsys, damage, why):
    config, folder = _copy(pristine_atlas, tmp_path)
    victim = _jobs(folder)[5]
    damage(folder / victim)
    scores = json.loads((folder / "scores.json").read_text())
    redone, lines = _redo("atlas", config, folder, capsys)
    assert redone == [victim] and len(lines) == 1 and why in lines[0]
    original = pristine_atlas[1] / folder.name / victim
    for name in ("result.png", "raw.png"):
        assert (folder / victim / name).read_bytes() == (original / name).read_bytes()
    again = json.loads((folder / "scores.json").read_text())
    assert again["jobs_digest"] != scores["jobs_digest"] and again["layers"] == scores["layers"]


@pytest.mark.parametrize("text", ["{\"weights\": ", "[1, 2]"], ids=["truncated", "a list"])
def test_a_damaged_score_cache_is_computed_again(pristine_atlas, tmp_path, capsys, text):
    config, folder = _copy(pristine_atlas, tmp_path)
    scores = json.loads((folder / "scores.json").read_text())
    (folder / "scores.json").write_text(text)
    assert main(["check", str(config), "--runs", str(folder.parent)]) == 1
    redone, _ = _redo("atlas", config, folder, capsys)
    assert redone == [] and json.loads((folder / "scores.json").read_text())["layers"] == scores["layers"]
    assert main(["atlas", str(config), "--runs", str(folder.parent)]) == 0
    assert "scoring again" not in capsys.readouterr().out  # fixed once, then reused
