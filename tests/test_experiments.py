"""Configs, job ids, resumable runs and figures, on the smoke experiments (32 px, random weights)."""
import dataclasses
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fmi_mx.core.image import images
from fmi_mx.sweep import config, jobs
from fmi_mx.cli import main
from fmi_mx.errors import FmiError

SMOKE = Path(__file__).resolve().parents[1] / "experiments" / "smoke"


def _config(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


GOOD = """
name: t
weights: random:0
size: 32
panels:
  - mode: feature_map
    contents: [sample:astronaut]
    layers: [relu1_1]
    filters: [0]
"""


@pytest.mark.parametrize("change,message", [
    ("sizee: 3", "sizee: unknown key (allowed: name, panels, figure"),
    ("size: big", "size: expected int, got 'big'"),
    ("figure: fig9", "figure: unknown figure 'fig9' (allowed: fig3, fig4, fig5, pairs, atlas, claim, none)"),
    ("optimise: {max_iters: 3}", "optimise.max_iters: unknown key (allowed: adam_beta1"),
])
def test_config_errors_name_file_key_and_allowed_values(tmp_path, change, message):
    key = change.split(":")[0]
    kept = "".join(line + "\n" for line in GOOD.splitlines() if not line.startswith(key + ":"))  # a key once
    path = _config(tmp_path, kept + change + "\n")
    with pytest.raises(FmiError) as info:
        config.load(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_all_problems_are_reported_at_once_before_any_job(tmp_path, monkeypatch, capsys):
    path = _config(tmp_path, GOOD.replace("relu1_1]", "relu6_1, relu1_2]").replace("[0]", "[64]")
                   .replace("[sample:astronaut]", "[missing.jpg]") + "panels_x: 1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "panels_x: unknown key" in err
    path.write_text(path.read_text().replace("panels_x: 1\n", ""))
    assert main(["run", str(path), "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "3 problems" in err
    assert "panels[0].layers[0]: unknown layer 'relu6_1'" in err
    assert "panels[0].filters[0]: filter 64 does not exist at relu1_2 (allowed: 0..63)" in err
    assert "missing.jpg not found" in err
    assert not (tmp_path / "runs").exists()


def test_set_overrides(tmp_path):
    exp = config.load(_config(tmp_path, GOOD), ["size=48", "optimise.max_iterations=5", "optimise.stop_eps=1e-3"])
    task = jobs.expand(exp, "sha")[0].task
    assert exp.size == task.size == 48 and task.optimise.stop.max_iterations == 5 and task.optimise.stop.stop_eps == 0.001
    assert task.optimise.weight_decay == 5e-4
    style = config.load(SMOKE / "fig5.yaml")
    assert {job.task.optimise.weight_decay for job in jobs.expand(style, "sha")} == {5e-3}


def test_job_ids_are_stable_and_change_with_the_result(tmp_path):
    exp = config.load(SMOKE / "fig3.yaml")
    ids = [job.id for job in jobs.expand(exp, "sha")]
    assert ids == [job.id for job in jobs.expand(config.load(SMOKE / "fig3.yaml"), "sha")]
    assert len(set(ids)) == len(ids) == 18
    for changed in (dataclasses.replace(exp, size=48), dataclasses.replace(exp, pooling="max"),
                    dataclasses.replace(exp, optimise={"max_iterations": 9})):
        assert not set(ids) & {job.id for job in jobs.expand(changed, "sha")}
    assert not set(ids) & {job.id for job in jobs.expand(exp, "other weights")}
    assert {job.id for job in jobs.expand(dataclasses.replace(exp, device="gpu:0"), "sha")} == set(ids)


def test_panel_problems_come_from_the_task_rules(tmp_path):
    path = _config(tmp_path, GOOD.replace("feature_map", "purposeful").replace("[relu1_1]", "[]") +
                   "  - {mode: gram, contents: [sample:astronaut], style_layers: [relu1_1, relu9_9]}\npooling: min\n")
    with pytest.raises(FmiError) as info:
        config.load(path)
    text = str(info.value)
    for key, message in (("pooling", "unknown pooling 'min'"), ("panels[0].layers", "needs at least one layer"),
                         ("panels[0].styles", "mode purposeful needs a style image"),
                         ("panels[1].styles", "mode gram needs a style image"),
                         ("panels[1].style_layers[1]", "unknown layer 'relu9_9'")):
        assert f"{path}: {key}: {message}" in text, (key, text)


def _panels(picture):
    """The pictures in a figure, found as large non-white areas: (count, rows, panels per row)."""
    from scipy import ndimage

    labels, n = ndimage.label(np.any(picture < 240, axis=2))
    boxes = [box for box in ndimage.find_objects(labels)
             if (box[0].stop - box[0].start) > 60 and (box[1].stop - box[1].start) > 60]
    rows: dict = {}
    for box in boxes:
        rows[round(box[0].start / 20)] = rows.get(round(box[0].start / 20), 0) + 1
    return len(boxes), len(rows), set(rows.values())


def _one_page_pdf(path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name,panels,grid", [("fig3", 18, (6, 3)), ("fig4", 6, (3, 2)), ("fig5", 4, (2, 3))])
def test_smoke_figures_end_to_end(tmp_path, name, panels, grid):
    assert main(["run", str(SMOKE / f"{name}.yaml"), "--runs", str(tmp_path)]) == 0
    root = tmp_path / f"smoke-{name}"
    sidecars = [json.loads(p.read_text()) for p in root.glob("*/result.json")]
    assert len(sidecars) == panels
    assert all(len(s["history"]) == s["iterations"] == 8 for s in sidecars)  # every update recorded
    rows = json.loads((root / f"{name}.json").read_text())
    assert len(rows) == panels and all(r["iterations"] == 8 for r in rows)
    assert (root / f"{name}.csv").read_text().count("\n") == panels + 1
    assert (root / f"{name}.md").read_text().count("\n") == panels + 2  # header, rule, a row per job
    assert (root / "config.resolved.yaml").is_file()
    assert json.loads((root / "environment.json").read_text())["weights"]["source"] == "random-he:seed=0"
    assert _one_page_pdf(root / f"{name}.pdf") and _one_page_pdf(root / "curves.pdf")
    assert (root / "curves.png").is_file()
    n_rows, n_cols = grid
    assert _panels(images.read(root / f"{name}.png")) == (n_rows * n_cols, n_rows, {n_cols})
    assert main(["figure", str(SMOKE / f"{name}.yaml"), "--runs", str(tmp_path), "--format", "svg"]) == 0
    assert (root / f"{name}.svg").is_file()


@pytest.mark.slow
def test_snapshots_and_the_animation(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["invert", "sample:astronaut", "--layers", "relu1_2", "--weights", "random", "--size", "32",
                 "--max-iterations", "40", "--save-every", "10", "--animate", "--out", str(out)]) == 0
    assert sorted(p.name for p in (tmp_path / "x.snapshots").iterdir()) == ["00010.png", "00020.png", "00030.png",
                                                                          "00040.png"]
    import imageio.v2 as imageio

    assert len(imageio.mimread(tmp_path / "x.gif")) == 5  # four snapshots and the result
    record = json.loads(out.with_suffix(".json").read_text())
    assert [h[0] for h in record["history"]] == list(range(1, 41))
    assert main(["plot", str(out.with_suffix(".json"))]) == 0
    assert (tmp_path / "x.curves.png").is_file() and _one_page_pdf(tmp_path / "x.curves.pdf")
    assert main(["invert", "sample:astronaut", "--layers", "relu1_2", "--weights", "random", "--animate",
                 "--out", str(tmp_path / "y.png")]) == 2
    assert "--animate needs --save-every" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_finished_jobs(tmp_path):
    cmd = [sys.executable, "-m", "fmi_mx.cli", "run", str(SMOKE / "fig3.yaml"), "--runs", str(tmp_path),
           "--set", "optimise.max_iterations=40"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = tmp_path / "smoke-fig3"
    deadline = time.time() + 120
    while len(list(root.glob("*/result.json"))) < 3 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {p: p.stat().st_mtime_ns for p in root.glob("*/result.json")}
    assert 3 <= len(first) < 18
    assert subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    done = list(root.glob("*/result.json"))
    assert len(done) == 18
    assert all(p.stat().st_mtime_ns == t for p, t in first.items())  # finished jobs were not redone
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    assert all((p.parent / "result.png").is_file() for p in done)


def test_filters_all_ranges_and_lists(tmp_path):
    def load(filters):
        return config.load(_config(tmp_path, GOOD.replace("layers: [relu1_1]", "layers: [relu1_1, relu2_1]")
                                   .replace("filters: [0]", f"filters: {filters}")))

    jobs_all = jobs.expand(load("all"), "sha")
    assert len(jobs_all) == 64 + 128 and {j.task.filter for j in jobs_all} == set(range(128))
    assert len(jobs.expand(load("3-5"), "sha")) == 6
    assert [j.task.filter for j in jobs.expand(load("[7, 2]"), "sha")] == [7, 2, 7, 2]
    for bad, message in (("5-3", "'5-3' is not a filter list"), ("some", "'some' is not a filter list"),
                         ("60-70", "filter 64 does not exist at relu1_1 (allowed: 0..63)")):
        with pytest.raises(FmiError) as info:
            load(bad)
        assert f"panels[0].filters: {message}" in str(info.value)


def test_throughput_is_lbfgs_for_a_fixed_budget_for_inversions_and_optimise_keys_win(tmp_path):
    from fmi_mx.core.optimisation.settings import THROUGHPUT
    from fmi_mx.core.tasks import StyleTransfer

    path = _config(tmp_path, GOOD)
    plain, fast = config.load(path), config.load(path, ["throughput=true"])
    assert (plain.settings().method, plain.settings().stop.max_iterations) == ("sgd", 1000)
    assert (fast.settings().method, fast.settings().stop.max_iterations) == (THROUGHPUT["method"],
                                                                             THROUGHPUT["max_iterations"])
    assert {j.id for j in jobs.expand(plain, "sha")}.isdisjoint(j.id for j in jobs.expand(fast, "sha"))
    assert fast.settings(StyleTransfer).method == "sgd"  # style transfers keep the original's optimiser
    mine = config.load(path, ["throughput=true", "optimise.max_iterations=7"]).settings()
    assert (mine.method, mine.stop.max_iterations) == ("lbfgs", 7)


MIXED = """
name: t
weights: random:0
size: 32
throughput: true
panels:
  - {mode: feature_map, contents: [sample:astronaut], layers: [relu1_1], filters: [0]}
  - {mode: activation, layers: [relu1_1], filters: [0], optimise: {max_iterations: 7}}
"""


def test_a_panel_of_its_own_optimiser_settings_changes_only_its_jobs(tmp_path):
    from fmi_mx.core.optimisation.settings import THROUGHPUT

    exp = config.load(_config(tmp_path, MIXED))
    (_, fmi), (_, visual) = exp.tasks()
    assert (fmi.optimise.method, fmi.optimise.stop.max_iterations) == ("lbfgs", THROUGHPUT["max_iterations"])
    assert visual.optimise.stop.max_iterations == 7
    assert visual.optimise.method == config.default(config.Visualisation, "optimise").method  # the rest: its kind's
    without = config.load(_config(tmp_path, MIXED.replace(", optimise: {max_iterations: 7}", "")))
    ids, plain_ids = ([j.id for j in jobs.expand(e, "sha")] for e in (exp, without))
    assert ids[0] == plain_ids[0] and ids[1] != plain_ids[1]


def test_a_panel_s_bad_optimiser_settings_are_named_by_their_panel(tmp_path):
    bad = MIXED.replace("optimise: {max_iterations: 7}", "optimise: {max_iterations: 0, adam_beta: 0.5}")
    with pytest.raises(FmiError) as e:
        config.load(_config(tmp_path, bad))
    text = str(e.value)
    assert "panels[1].optimise.adam_beta: unknown key" in text and "panels[1].optimise.max_iterations" in text


def test_figure_5_is_laid_out_as_the_originals_output():
    """A row per style image; the style, then each content's Gatys and PMCI results side by side."""
    from fmi_mx import figures

    labelled = [({"content": f"inputs/{c}.jpg", "style": f"inputs/{s}.jpg", "mode": mode}, np.zeros((4, 4, 3), np.uint8))
                for mode in ("gram", "pmci") for c in ("golden_gate", "tubingen") for s in ("frida", "scream")]
    (block, rows, columns, cells), = figures._blocks("fig5", labelled, {"inputs/frida.jpg": None, "inputs/scream.jpg": None})
    assert rows == ["inputs/frida.jpg", "inputs/scream.jpg"]
    assert columns == ["style", "golden_gate\nGatys", "golden_gate\nPMCI", "tubingen\nGatys", "tubingen\nPMCI"]
    assert len(cells) == 2 * 5


def test_grouped_figures_put_the_pictures_to_compare_side_by_side():
    """A cell's members touch at one height, 2 px apart; a missing one is white. The demo's pairs keep a row per
    layer; the visualisation grid wraps its filters so that at most nine pictures run across."""
    from fmi_mx import figures

    square, wide = np.full((96, 96, 3), 10, np.uint8), np.full((64, 96, 3), 200, np.uint8)
    strip = figures.strip([square, wide, None], 48)
    assert strip.shape == (48, 48 + 2 + 72 + 2 + 48, 3)
    assert (strip[:, 48:50] == 255).all() and (strip[:, 50:122] == 200).all() and (strip[:, -48:] == 255).all()

    pairs = [({"layer": layer, "filter": k, "content": content}, square)
             for layer in ("relu2_2", "relu3_2") for k in (0, 2, 4) for content in ("sample:astronaut", "sample:coffee")]
    fig = figures.draw("pairs", pairs, title="t", caption=figures.CAPTIONS["pairs"])
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 2 * 3 and len(shown) == 6
    assert shown[0].images[0].get_array().shape == (96, 2 * 96 + 2, 3)
    assert [t.get_text() for t in fig.texts if t.get_text().startswith("Each cell")] == \
        ["Each cell, left to right: astronaut, coffee. " + figures.CAPTIONS["pairs"]]

    features = [({"layer": "relu3_2", "filter": k, "column": column}, square)
                for k in range(16) for column in ("visualisation", "astronaut", "coffee")]
    fig = figures.draw("features", features, title="t")
    assert len(fig.axes) == 6 * 3 and sum(bool(ax.images) for ax in fig.axes) == 16  # 3 across, 6 rows
    assert [ax.get_title() for ax in fig.axes[:4]] == ["filter 0", "filter 1", "filter 2", "filter 3"]
