"""Twenty-one ways a new user broke fmi_mx, each now answered as it should be: the exit status and the
message asserted, nothing half-done left behind."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fmi_mx
from fmi_mx.cli import main
from fmi_mx.errors import FmiError

from test_failfast import _tmpfs

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke" / "fig3.yaml"
B = ["invert", "sample:astronaut", "--layers", "relu1_1", "--mode", "original", "--weights", "random", "--size",
     "32", "--max-iterations", "5"]
ATLAS = """name: t
figure: atlas
weights: random:0
size: 32
optimise: {max_iterations: 4}
panels:
  - {mode: feature_map, contents: [sample:astronaut, sample:coffee], layers: [relu1_1], filters: 0-3}
"""


def _lines(capsys):
    captured = capsys.readouterr()
    return [line for line in captured.err.splitlines() if line.strip()], captured.out


def _tree(folder: Path) -> set:
    return set(folder.rglob("*")) if folder.exists() else set()


@pytest.mark.slow
@pytest.mark.parametrize("option", ["adam_epsilon=1e-8", "learning_rate=1e-3", "stop_loss=1e3", "max_seconds=1e-9"])
def test_option_values_are_numbers_as_in_configs(tmp_path, capsys, option):
    out = tmp_path / "r.png"
    assert main(B + ["--method", "adam", "--option", option, "--out", str(out)]) == 0
    name, _, text = option.partition("=")
    assert json.loads(out.with_suffix(".json").read_text())["task"]["optimise"][name] == float(text)
    style = tmp_path / "s.png"
    assert main(["style", "sample:astronaut", "sample:brick", "--weights", "random", "--size", "32", "--max-iterations",
                 "2", "--style-layers", "relu1_1", "--option", option, "--out", str(style)]) == 0


class _Dropped:
    """Its finaliser gets the signal: Python drops the KeyboardInterrupt raised there ("Exception ignored")."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception: the point
def test_a_stop_dropped_in_a_finaliser_still_ends_the_atlas_with_130(tmp_path, capsys, monkeypatch):
    from fmi_mx.atlas import build

    config = tmp_path / "t.yaml"
    config.write_text(ATLAS)
    assert main(["atlas", str(config), "--runs", str(tmp_path / "runs")]) == 0
    original = build.compute

    def compute(*args, **kwargs):
        _Dropped()  # finalised at once: the signal arrives inside __del__
        return original(*args, **kwargs)

    monkeypatch.setattr(build, "compute", compute)
    capsys.readouterr()
    assert main(["atlas", str(config), "--runs", str(tmp_path / "runs"), "--rescore"]) == 130
    err, _ = _lines(capsys)
    assert err[-1] == "fmi-mx: interrupted; finished outputs are kept"


def test_a_snapshots_folder_in_the_way_is_refused_before_compute(tmp_path, capsys):
    out = tmp_path / "D" / "r.png"
    out.parent.mkdir()
    (tmp_path / "D" / "r.snapshots").write_text("a file")
    start = time.perf_counter()
    assert main(B + ["--save-every", "2", "--out", str(out)]) == 2
    err, _ = _lines(capsys)
    assert len(err) == 1 and "snapshots folder" in err[0] and "is a file" in err[0] and not out.exists()
    assert time.perf_counter() - start < 10
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        assert main(B + ["--save-every", "2", "--out", str(ro / "r.png")]) == 2


@pytest.mark.slow
def test_the_snapshots_folder_holds_this_run_alone(tmp_path, capsys):
    out = tmp_path / "r.png"
    folder = tmp_path / "r.snapshots"
    folder.mkdir()
    from fmi_mx.core.image import images

    images.write(folder / "00003.png", np.zeros((64, 64, 3), np.uint8))  # another run's, another size
    assert main(B + ["--save-every", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["00002.png", "00004.png"]
    assert main(B + ["--max-iterations", "7", "--save-every", "7", "--animate", "--out", str(out)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["00007.png"] and out.with_suffix(".gif").is_file()


@pytest.mark.parametrize("command", ["run", "atlas"])
def test_a_sweep_over_its_memory_budget_is_one_line(tmp_path, capsys, command):
    config = tmp_path / "t.yaml"
    config.write_text(ATLAS if command == "atlas" else SMOKE.read_text())
    assert main([command, str(config), "--runs", str(tmp_path / "runs"), "--set", "max_memory=1"]) == 2
    err, _ = _lines(capsys)
    assert len(err) == 1 and "over max_memory 1 MB" in err[0] and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("contents", ["[sample:astronaut]", "[sample:astronaut, sample:astronaut]"])
def test_an_atlas_of_one_content_image_is_refused_at_config_check(tmp_path, capsys, contents):
    config = tmp_path / "t.yaml"
    config.write_text(ATLAS.replace("[sample:astronaut, sample:coffee]", contents))
    assert main(["atlas", str(config), "--runs", str(tmp_path / "runs")]) == 2
    err, _ = _lines(capsys)
    assert "panels[0].contents: an atlas needs two or more different content images" in err[0]
    assert not (tmp_path / "runs").exists()


def test_a_long_experiment_name_is_refused_at_config_check(tmp_path, capsys):
    assert main(["run", str(SMOKE), "--runs", str(tmp_path / "runs"), "--set", "name=" + "n" * 300, "--dry-run"]) == 2
    err, _ = _lines(capsys)
    assert "name: must be at most 100 characters long, not 300" in err[0] and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("length", [245, 300])
def test_an_output_name_too_long_for_its_temporary_name_is_refused_first(tmp_path, capsys, length):
    out = tmp_path / ("n" * (length - 4) + ".png")
    assert main(B + ["--out", str(out)]) == 2
    err, _ = _lines(capsys)
    assert len(err) == 1 and "its name is too long" in err[0] and "at most 255" in err[0]


def test_random_weights_into_a_folder_are_refused_first(tmp_path, capsys):
    assert main(["weights", "random", "--out", str(tmp_path)]) == 2
    err, _ = _lines(capsys)
    assert err == [f"fmi-mx: error: weights output {tmp_path} is a folder: name a file in it"]


def test_converting_a_missing_or_random_file_is_one_plain_line(tmp_path, capsys):
    noise = tmp_path / "noise.params"
    noise.write_bytes(np.random.default_rng(0).bytes(5000))
    assert main(["weights", "convert", "/missing.params"]) == 2
    assert main(["weights", "convert", str(noise)]) == 2
    err, _ = _lines(capsys)
    assert err[0] == "fmi-mx: error: /missing.params not found"
    assert err[1].endswith("is not a Gluon VGG parameter file (MXNet cannot read it)") and "Traceback" not in err[1]


@pytest.mark.slow
def test_the_api_takes_numpy_scalars_and_names_a_wrong_type():
    image, record = fmi_mx.invert("sample:astronaut", layers="relu1_1", mode="feature_map", weights="random",
                                  size=np.int64(32), filter=np.int64(2), max_iterations=np.int32(3), seed=np.int64(1),
                                  stop_eps=np.float32(0.01))
    assert image.shape == (32, 32, 3) and record["task"]["filter"] == 2 and record["iterations"] == 3
    with pytest.raises(FmiError, match=r"size \(px, the long edge\) must be a whole number from 1 to 4096, not '32' "
                                       r"\(type str\)"):
        fmi_mx.invert("sample:astronaut", layers="relu1_1", weights="random", size="32")


@pytest.mark.parametrize("given,message", [
    (dict(content=[[1, 2], [3, 4]]), "a picture must be a path, sample:NAME or a numpy array, not a list"),
    (dict(layers=None), "layers must be a list of layer names, not None"),
    (dict(layers=5), "layers must be a list of layer names, not 5 (type int)"),
])
def test_the_api_answers_bad_arguments_with_fmi_errors(given, message):
    arguments = dict(dict(content="sample:astronaut", layers="relu1_1", weights="random", size=32), **given)
    content = arguments.pop("content")
    with pytest.raises(FmiError) as info:
        fmi_mx.invert(content, **arguments)
    assert message in str(info.value)


def test_image_arrays_of_each_accepted_type_and_the_rest_refused():
    from fmi_mx.core.image.images import as_rgb

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(as_rgb(pixels.astype(np.float64) / 255.0), pixels)  # floats: 0..1
    np.testing.assert_array_equal(as_rgb(pixels.astype(np.uint16) * 257), pixels)  # 16 bits, as files are
    np.testing.assert_array_equal(as_rgb(pixels.astype(np.int64)), pixels)
    for bad, message in ((pixels.astype(np.complex64), "not complex64"),
                         (pixels.astype(np.float64), "float image array must hold values in 0..1"),
                         (pixels.astype(np.int64) + 200, r"must hold values in 0..255, not 200..\d+"),
                         (pixels.astype(bool), "not bool")):
        with pytest.raises(FmiError, match=message):
            as_rgb(bad)


def test_a_figure_of_nothing_writes_nothing_and_names_the_command(tmp_path, capsys):
    config = tmp_path / "t.yaml"
    config.write_text(ATLAS)
    (tmp_path / "empty").mkdir()
    assert main(["figure", str(config), "--runs", str(tmp_path / "empty"), "--rescore"]) == 1
    _, out = _lines(capsys)
    assert "none of the 8 jobs has finished; run `fmi-mx atlas` first" in out and not _tree(tmp_path / "empty")


def test_nothing_is_written_before_the_checks_pass(tmp_path, capsys):
    assert main(["run", str(SMOKE), "--runs", str(tmp_path / "runs"), "--devices", "gpu:0"]) == 2
    assert main(["demo", "--out", str(tmp_path / "demo"), "--image", "/nope.png"]) == 2
    err, _ = _lines(capsys)
    assert "device 'gpu:0' needs a GPU build of MXNet" in err[0] and "image /nope.png not found" in err[1]
    assert not _tree(tmp_path)


def test_a_bad_option_with_untrained_weights_is_one_line(tmp_path, capsys):
    assert main(B + ["--filter", "70", "--mode", "feature_map", "--out", str(tmp_path / "r.png")]) == 2
    err, _ = _lines(capsys)
    assert err == ["fmi-mx: error: filter 70 does not exist at relu1_1 (allowed: 0..63)"]


@pytest.mark.slow
def test_plots_refuse_an_unwritable_folder_and_write_each_format_once(tmp_path, capsys):
    out = tmp_path / "r.png"
    assert main(B + ["--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["plot", str(out.with_suffix(".json")), "--format", "svg,svg"]) == 0
    _, printed = _lines(capsys)
    assert printed.strip() == str(tmp_path / "r.curves.svg")
    with _tmpfs(tmp_path / "ro", "size=1m") as ro:
        sidecar = ro / "r.json"
        sidecar.write_text(out.with_suffix(".json").read_text())
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        assert main(["plot", str(sidecar)]) == 2
        err, _ = _lines(capsys)
        assert len(err) == 1 and "plot output" in err[0] and "Read-only file system" in err[0]


@pytest.mark.slow
def test_sigterm_stops_invert_as_ctrl_c_does(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "fmi_mx.cli"] + B[:-2] + [
        "--size", "64", "--max-iterations", "1000", "--stop-eps", "0", "--log-every", "1", "--out", str(tmp_path / "r.png")],
        stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for line in process.stderr:
        if line.startswith("iter"):
            break
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    assert process.wait(60) == 130 and "fmi-mx: interrupted; finished outputs are kept" in rest
    assert not list(tmp_path.glob("*"))


def test_a_config_that_is_a_folder_is_called_a_folder(tmp_path, capsys):
    assert main(["run", str(tmp_path)]) == 2
    err, _ = _lines(capsys)
    assert err == [f"fmi-mx: error: config {tmp_path} is a folder: name a YAML file in it"]


@pytest.mark.slow
def test_a_finished_figure_is_drawn_again_only_when_a_job_is_newer_or_asked(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["run", str(SMOKE), "--runs", str(runs)]) == 0
    figure = runs / "smoke-fig3" / "fig3.png"
    drawn = figure.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["run", str(SMOKE), "--runs", str(runs)]) == 0
    assert figure.stat().st_mtime_ns == drawn and "up to date" in capsys.readouterr().out
    assert main(["figure", str(SMOKE), "--runs", str(runs)]) == 0 and figure.stat().st_mtime_ns > drawn
    drawn = figure.stat().st_mtime_ns
    sidecar = next((runs / "smoke-fig3").glob("*/result.json"))
    os.utime(sidecar, ns=(drawn + 10 ** 9, drawn + 10 ** 9))  # a job newer than the figure
    assert main(["run", str(SMOKE), "--runs", str(runs)]) == 0 and figure.stat().st_mtime_ns > drawn
