"""Bad input stops before any compute with one line and exit 2; runtime faults (a full disk, a diverged
optimisation) stop with exit 1; nothing is left behind, and finished results stay finished."""
import contextlib
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from fmi_mx.cli import main

SMOKE = Path(__file__).resolve().parents[1] / "experiments" / "smoke"
BASE = ["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", "random", "--size", "32",
        "--max-iterations", "3"]
STYLE = ["style", "sample:astronaut", "sample:brick", "--weights", "random", "--size", "32", "--max-iterations", "3"]
CONFIG = """name: t
weights: random:0
size: 32
optimise: {max_iterations: 3}
panels:
  - {mode: feature_map, contents: [sample:astronaut], layers: [relu1_1], filters: [0]}
"""


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height (no pixel data follows)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IEND", b""))
    return path


def _errors(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    return [line for line in err if not line.startswith("note:")]


def _files(root: Path):
    return {p for p in root.rglob("*")}


CLI_PROBES = {
    "out is a folder": (BASE + ["--out", "{tmp}/somedir/"], "is a folder"),
    "out in a file": (BASE + ["--out", "{tmp}/afile/x.png"], "afile is a file, not a folder"),
    "out of unknown type": (BASE + ["--out", "{tmp}/r.xyz"], "unknown image type '.xyz'"),
    "iterations 0": (BASE + ["--max-iterations", "0"], "max_iterations must be a whole number >= 1, not 0"),
    "iterations -1": (BASE + ["--max-iterations", "-1"], "max_iterations must be a whole number >= 1, not -1"),
    "log-every 0": (BASE + ["--log-every", "0"], "log_every must be a whole number >= 1, not 0"),
    "stop-eps nan": (BASE + ["--stop-eps", "nan"], "stop_eps must be a finite number >= 0, not nan"),
    "weight-decay -1": (BASE + ["--weight-decay", "-1"], "weight_decay must be a finite number >= 0"),
    "remove-noise nan": (BASE + ["--remove-noise", "nan"], "remove_noise must be a finite number >= 0, not nan"),
    "seed -1": (BASE + ["--seed", "-1"], "seed must be a whole number >= 0"),
    "size 100000": (BASE + ["--size", "100000"], "must be a whole number from 1 to 4096, not 100000"),
    "layers empty": (["invert", "sample:astronaut", "--layers", "", "--weights", "random"], "empty layer name"),
    "layers comma": (["invert", "sample:astronaut", "--layers", ",", "--weights", "random"], "empty layer name"),
    "layers double comma": (["invert", "sample:astronaut", "--layers", "relu1_1,,relu2_1", "--weights", "random"],
                            "empty layer name"),
    "image header over the cap": (["invert", "{tmp}/huge.png", "--layers", "relu1_1", "--weights", "random"],
                                  "100000x100000 = 10,000,000,000 pixels, over the cap"),
    "style content-weight nan": (STYLE + ["--content-weight", "nan"], "content_weight must be a finite number"),
    "style with no style layer": (STYLE + ["--style-layers", ""], "empty layer name"),
    "max-memory 0": (BASE + ["--max-memory", "0"], "max_memory (MB) must be a finite number > 0, not 0.0"),
    "max-memory too small": (BASE + ["--max-memory", "1"], "over max_memory 1 MB"),
}


@pytest.mark.parametrize("case", CLI_PROBES)
def test_bad_arguments_exit_2_with_one_line_before_any_compute(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somedir").mkdir()
    (tmp_path / "afile").write_text("a file")
    _png_header(tmp_path / "huge.png", 100000, 100000)
    argv, culprit = CLI_PROBES[case]
    argv = [a.format(tmp=tmp_path) for a in argv]
    argv += [] if "--out" in argv else ["--out", str(tmp_path / "out" / "x.png")]
    before = _files(tmp_path)
    assert main(argv) == 2
    err = _errors(capsys)
    assert len(err) == 1 and culprit in err[0] and err[0].startswith("fmi-mx: error:"), err
    assert _files(tmp_path) == before  # nothing written


@contextlib.contextmanager
def _tmpfs(path: Path, options: str):
    """A tmpfs mounted at ``path`` (root only); skips the test where it cannot be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs (read-only or full disk) needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_read_only_output_fails_in_seconds(tmp_path, capsys):
    """A 512 px run, 1000 iterations, into a read-only folder: refused before the compute."""
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        start = time.perf_counter()
        code = main(["invert", "sample:astronaut", "--layers", "relu5_1", "--weights", "random", "--size", "512",
                     "--max-iterations", "1000", "--out", str(ro / "x.png")])
        assert code == 2 and time.perf_counter() - start < 5
        err = _errors(capsys)
        assert len(err) == 1 and "Read-only file system" in err[0]
        config = tmp_path / "c.yaml"
        config.write_text(CONFIG)
        assert main(["run", str(config), "--runs", str(ro / "runs")]) == 2
        assert "cannot write in" in _errors(capsys)[0]


def test_runs_folder_in_a_file_and_names_that_escape(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    (tmp_path / "afile").write_text("x")
    assert main(["run", str(config), "--runs", str(tmp_path / "afile" / "runs")]) == 2
    assert "is a file, not a folder" in _errors(capsys)[0]
    assert main(["run", str(config), "--runs", str(tmp_path / "runs"), "--set", "name=../escaped"]) == 2
    assert "name: must be a plain folder name" in _errors(capsys)[0]
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "runs").exists()


def test_config_problems_all_at_once_with_keys(tmp_path, capsys):
    (tmp_path / "empty.png").write_bytes(b"")
    ok_png = tmp_path / "ok.png"
    assert main(["weights", "random", "--out", str(tmp_path / "w.params")]) == 0  # any file; then a real PNG:
    import cv2
    import numpy as np

    cv2.imwrite(str(ok_png), np.full((40, 40, 3), 90, np.uint8))
    (tmp_path / "trunc.png").write_bytes(ok_png.read_bytes()[:60])
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.replace("[sample:astronaut]", "[empty.png, trunc.png]") + f"inputs: {tmp_path}\nsizee: 1\n")
    sets = ["--set", "optimise.learning_rate=abc", "--set", "optimise.max_iterations=0", "--set", "batch_size=-1",
            "--set", "optimise.momentum=1.5", "--set", "remove_noise=1e-3"]
    assert main(["run", str(config), "--runs", str(tmp_path / "runs")] + sets) == 2
    err = _errors(capsys)
    assert len(err) == 1
    for key, message in (("sizee", "unknown key"), ("optimise.learning_rate", "expected float, got 'abc'"),
                         ("optimise.max_iterations", "max_iterations must be a whole number >= 1, not 0"),
                         ("optimise.momentum", "momentum must be a finite number in [0, 1), not 1.5"),
                         ("batch_size", "batch_size (0: automatic) must be a whole number >= 0, not -1"),
                         ("panels[0].contents[0]", f"image {tmp_path / 'empty.png'} cannot be read"),
                         ("panels[0].contents[1]", f"image {tmp_path / 'trunc.png'} cannot be read")):
        assert f"{config}: {key}: {message}" in err[0], key
    assert f"{config}: remove_noise:" not in err[0]  # 1e-3 is a float
    assert not (tmp_path / "runs").exists()


def test_yaml_and_set_syntax_errors_name_where(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: t\npanels: [1, 2\n")
    assert main(["run", str(config)]) == 2
    assert f"{config}:3:1: YAML syntax error: expected ',' or ']'" in _errors(capsys)[0]
    config.write_text(CONFIG)
    assert main(["run", str(config), "--set", "size=[1,2"]) == 2
    assert f"{config}: --set size: '[1,2' is not a YAML value" in _errors(capsys)[0]
    assert main(["run", str(config), "--set", "size"]) == 2
    assert "use key.path=value" in _errors(capsys)[0]


@pytest.mark.slow
def test_a_learning_rate_written_1e_3_runs(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    assert main(["run", str(config), "--runs", str(tmp_path / "runs"), "--set", "optimise.learning_rate=1e-3"]) == 0
    record = json.loads(next((tmp_path / "runs" / "t").glob("*/result.json")).read_text())
    assert record["task"]["optimise"]["learning_rate"] == 0.001


@pytest.mark.slow
def test_disk_full_during_an_inversion_leaves_no_picture(tmp_path, capsys):
    with _tmpfs(tmp_path / "small", "size=64k") as small:
        (small / "filler").write_bytes(b"\0" * (60 * 1024))  # what is left is smaller than a sidecar
        code = main(BASE + ["--out", str(small / "r.png")])
        err = [line for line in _errors(capsys) if not line.startswith("iter")]
        assert code == 1 and len(err) == 1 and "No space left on device" in err[0], err
        assert sorted(p.name for p in small.iterdir()) == ["filler"]  # no picture, no temporary file


@pytest.mark.slow
def test_disk_full_during_a_sweep_stops_it_and_keeps_what_finished(tmp_path, capsys):
    with _tmpfs(tmp_path / "small", "size=96k") as small:
        start = time.perf_counter()
        code = main(["run", str(SMOKE / "fig3.yaml"), "--runs", str(small), "--set", "batch_size=1"])
        err = " ".join(_errors(capsys))
        assert code == 1 and "No space left on device" in err and "the run stopped" in err, err
        assert time.perf_counter() - start < 60
        root = small / "smoke-fig3"
        pictures = list(root.glob("*/result.png"))
        assert len(pictures) < 18 and all(p.with_suffix(".json").is_file() for p in pictures)
        assert not [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name == ".lock"]


@pytest.mark.slow
def test_a_diverged_job_is_reported_kept_and_retried_only_when_asked(tmp_path, capsys):
    args = ["run", str(SMOKE / "fig4.yaml"), "--runs", str(tmp_path), "--set", "optimise.learning_rate=1e30"]
    assert main(args) == 1
    err = " ".join(_errors(capsys))
    assert "6 job(s) diverged" in err and "--retry-diverged" in err
    root = tmp_path / "smoke-fig4"
    sidecars = list(root.glob("*/result.json"))
    assert len(sidecars) == 6 and all(json.loads(p.read_text())["stop_reason"] == "non_finite" for p in sidecars)
    assert (root / "fig4.png").is_file()
    before = {p: p.stat().st_mtime_ns for p in sidecars}
    assert main(args) == 1 and "6 job(s) diverged" in " ".join(_errors(capsys))
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # kept, not redone
    assert main(args + ["--retry-diverged"]) == 1
    assert all(p.stat().st_mtime_ns != t for p, t in before.items())  # redone when asked


@pytest.mark.slow
def test_two_runs_on_one_folder_share_the_work(tmp_path):
    cmd = [sys.executable, "-m", "fmi_mx.cli", "run", str(SMOKE / "fig3.yaml"), "--runs", str(tmp_path),
           "--set", "optimise.max_iterations=150", "--set", "optimise.stop_eps=0", "--set", "batch_size=1"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    done = [line.split()[0] for out, _ in outputs for line in out.splitlines() if " done in " in line]
    assert len(done) == len(set(done)) == 18  # every job once, by one of the two
    assert all(any(" done in " in line for line in out.splitlines()) for out, _ in outputs)  # both worked
    assert not list(tmp_path.rglob(".lock"))


@pytest.mark.slow
def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    from fmi_mx.core.network.weights import random_he
    from fmi_mx.sweep import config, jobs

    exp = config.load(SMOKE / "fig4.yaml")
    victim = jobs.expand(exp, random_he(0).sha256)[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    lock = tmp_path / exp.name / victim.id / ".lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(f"{os.uname().nodename} {dead}\n")
    assert main(["run", str(SMOKE / "fig4.yaml"), "--runs", str(tmp_path)]) == 0
    assert (lock.parent / "result.json").is_file() and not lock.exists()


def test_make_inputs_asks_for_the_upstream_names(tmp_path, monkeypatch):
    import hashlib
    import http.server
    import threading

    from fmi_mx.tools import inputs

    served = tmp_path / "served"
    served.mkdir()
    digests = {}
    for ours, theirs in inputs.UPSTREAM.items():
        (served / theirs).write_bytes(ours.encode() * 10)
        digests[ours] = hashlib.sha256(ours.encode() * 10).hexdigest()
    monkeypatch.setattr(inputs, "SHA256", digests)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(served), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        inputs.fetch(tmp_path / "inputs", repo=f"http://127.0.0.1:{server.server_port}/", timeout=5)
    finally:
        server.shutdown()
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == sorted(inputs.UPSTREAM)
