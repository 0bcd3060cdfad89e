"""Job identity: made from the fields declared result-changing, pictures by their bytes; pinned for every
shipped config; unchanged by how a run is run; old run folders recognised."""
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from fmi_mx.cli import main
from fmi_mx.core.image import images
from fmi_mx.core.options import option
from fmi_mx.core.tasks import Inversion
from fmi_mx.sweep import config, jobs
from fmi_mx.tools.inputs import SHA256

ROOT = Path(__file__).resolve().parents[1]
PINNED = Path(__file__).with_name("pinned_ids.json")
SMOKE = ROOT / "experiments" / "smoke" / "fig3.yaml"


def placeholder_inputs(folder: Path) -> Path:
    """Stand-ins for the paper's six images (any pixels will do: ids know them by the sha256 below)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHA256:
        images.write(folder / Path(name).with_suffix(".png"), np.full((40, 48, 3), 99, np.uint8))
        (folder / Path(name).with_suffix(".png")).rename(folder / name)
    return folder


def paper_tokens(folder: Path):
    """How ids name pictures, with the paper's images known by their published sha256."""
    tokens = jobs.PictureTokens()
    return lambda source: (f"sha256:{SHA256[Path(source).name]}" if Path(source).parent == folder
                           else tokens(source))


def pinned_form(ids: list) -> dict:
    """A config's ids as pinned: how many, the first twenty, and the sha256 of them all."""
    import hashlib

    return {"count": len(ids), "first": ids[:20], "sha256": hashlib.sha256(" ".join(ids).encode()).hexdigest()}


def shipped_ids(folder: Path) -> dict:
    """Every shipped config's job ids, pinned form (weights named by their sha256, or ``file-weights``)."""
    from fmi_mx.core.network import weights as W

    tokens = paper_tokens(folder)
    out = {}
    for path in sorted((ROOT / "experiments").rglob("*.yaml")):
        exp = config.load(path, ["inputs=" + str(folder)])
        variants = [(ws.name, exp.for_set(ws)) for ws in exp.weight_sets] or [("", exp)]
        for name, variant in variants:
            sha = W.resolve(variant.weights, variant.network).sha256 if variant.weights.startswith("random") \
                else "file-weights"
            key = str(path.relative_to(ROOT)) + (f"#{name}" if name else "")
            out[key] = pinned_form([jobs.job_id(task, sha, tokens) for _, task in variant.tasks()])
    return out


def test_every_shipped_config_keeps_its_pinned_ids(tmp_path):
    """Configs of bundled pictures kept the ids they had before pictures entered ids by their bytes;
    configs of the paper's images have ids that no longer depend on where the images lie."""
    pinned = json.loads(PINNED.read_text())
    assert shipped_ids(placeholder_inputs(tmp_path / "inputs")) == pinned
    assert shipped_ids(placeholder_inputs(tmp_path / "elsewhere" / "pictures")) == pinned
    assert pinned["experiments/smoke/fig3.yaml"]["first"][:2] == ["e72c1d258c01", "16920f22ccbd"]  # as before


def test_a_new_field_changes_ids_only_when_declared_result_changing():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Logged(Inversion):
        verbosity: int = option(0, "how much to log", result=False)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Scaled(Inversion):
        gain: float = option(1.0, "a factor on the target")

    base = dict(content="sample:astronaut", layers=("relu1_1",), size=32)
    plain = jobs.job_id(Inversion(**base), "sha")
    assert jobs.job_id(Logged(**base), "sha") == jobs.job_id(Logged(**base, verbosity=3), "sha") == plain
    assert jobs.job_id(Scaled(**base), "sha") == plain  # at its default: results made before it keep their ids
    assert jobs.job_id(Scaled(**base, gain=2.0), "sha") != plain


@pytest.mark.parametrize("override", ["optimise.log_every=7", "save_every=5", "animate=true", "batch_size=3",
                                      "device=cpu,cpu", "max_memory=9000"])
def test_how_a_run_is_run_leaves_ids_unchanged(override, capsys):
    assert main(["run", str(SMOKE), "--dry-run"]) == 0
    plain = capsys.readouterr().out
    extra = ["--set", "save_every=5"] if override == "animate=true" else []
    assert main(["run", str(SMOKE), "--dry-run", "--set", override] + extra) == 0
    ids = [line.split()[0] for line in plain.splitlines() if "  todo  " in line]
    assert len(ids) == 18 and ids == [line.split()[0] for line in capsys.readouterr().out.splitlines()
                                      if "  todo  " in line]


def test_a_picture_enters_ids_by_its_bytes(tmp_path):
    picture = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    for folder in ("a", "b"):
        images.write(tmp_path / folder / "p.png", picture)
    changed = picture.copy()
    changed[0, 0] ^= 1
    images.write(tmp_path / "c" / "p.png", changed)

    def ids(folder):
        exp = config.load(SMOKE, [f"inputs={tmp_path / folder}"]).__class__
        task = Inversion(content=str(tmp_path / folder / "p.png"), layers=("relu1_1",), size=32)
        return jobs.job_id(task, "sha", jobs.PictureTokens()), exp

    assert ids("a")[0] == ids("b")[0] != ids("c")[0]


def _finished_run(tmp_path, inputs: str = ""):
    """Two FMIs of a picture in tmp_path/in, run to the end: (config, runs folder)."""
    picture = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    images.write(tmp_path / "in" / "p.png", picture)
    cfg = tmp_path / "c.yaml"
    folder = "" if inputs else f"inputs: {tmp_path / 'in'}\n"  # else given on the command line
    cfg.write_text(f"name: m\nweights: random\nsize: 32\n{folder}optimise: {{max_iterations: 2}}\n"
                   "panels:\n  - {mode: feature_map, contents: [p.png], layers: [relu1_1], filters: [0, 1]}\n")
    runs = tmp_path / "runs"
    assert main(["run", str(cfg), "--runs", str(runs)] + (["--set", inputs] if inputs else [])) == 0
    return cfg, runs


@pytest.mark.slow
def test_a_run_folder_made_with_path_ids_is_recognised(tmp_path, capsys):
    """Results made when ids held the picture's path are moved to their new folders, not run again."""
    cfg, runs = _finished_run(tmp_path)
    exp = config.load(cfg)
    from fmi_mx.core.network import weights as W

    sha = W.resolve("random").sha256
    for job in jobs.expand(exp, sha):  # as an earlier fmi_mx named the folders
        old = jobs.job_id(job.task, sha)
        (runs / "m" / job.id).rename(runs / "m" / old)
    capsys.readouterr()
    assert main(["run", str(cfg), "--runs", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "2 finished job(s) renamed" in out and "all 2 jobs are finished" in out
    for job in jobs.expand(exp, sha):
        assert json.loads((runs / "m" / job.id / "result.json").read_text())["job"] == job.id


@pytest.mark.slow
def test_migration_gives_older_results_integrity_records(tmp_path, capsys):
    """Sidecars of an older fmi_mx list no pictures: migration decodes each once and records its size and
    sha256, so a picture blanked afterwards (a valid PNG) is noticed and redone, not called finished."""
    cfg, runs = _finished_run(tmp_path)
    from fmi_mx.core.network import weights as W

    sha = W.resolve("random").sha256
    expanded = jobs.expand(config.load(cfg), sha)
    for job in expanded:  # as an earlier fmi_mx left them: path ids, sidecars without a files list
        sidecar = runs / "m" / job.id / "result.json"
        record = json.loads(sidecar.read_text())
        del record["files"]
        sidecar.write_text(json.dumps(record))
        (runs / "m" / job.id).rename(runs / "m" / jobs.job_id(job.task, sha))
    assert main(["run", str(cfg), "--runs", str(runs)]) == 0
    first = runs / "m" / expanded[0].id
    listed = json.loads((first / "result.json").read_text())["files"]
    assert listed["result.png"]["sha256"] == hashlib.sha256((first / "result.png").read_bytes()).hexdigest()
    images.write(first / "result.png", np.zeros((24, 32, 3), np.uint8))  # blanked: still a valid PNG
    capsys.readouterr()
    assert main(["check", str(cfg), "--runs", str(runs)]) == 1
    assert f"{expanded[0].id}: result.png" in capsys.readouterr().out
    assert main(["run", str(cfg), "--runs", str(runs)]) == 0
    assert images.read(str(first / "result.png")).max() > 0


@pytest.mark.slow
def test_migration_finds_jobs_whose_inputs_moved_and_ignores_stale_locks(tmp_path, capsys):
    """Results of an older fmi_mx, whose pictures were moved before this version first ran: found by what
    they read, not where it lay; a new folder holding only a dead process's lock does not block them."""
    cfg, runs = _finished_run(tmp_path, inputs=f"inputs={tmp_path / 'in'}")
    from fmi_mx.core.network import weights as W

    sha = W.resolve("random").sha256
    expanded = jobs.expand(config.load(cfg, [f"inputs={tmp_path / 'in'}"]), sha)
    results = {job.id: (runs / "m" / job.id / "result.png").read_bytes() for job in expanded}
    for job in expanded:
        (runs / "m" / job.id).rename(runs / "m" / jobs.job_id(job.task, sha))
    (runs / "m" / expanded[0].id).mkdir()
    (runs / "m" / expanded[0].id / ".lock").write_text("host 999999\n")  # its process is gone
    (tmp_path / "in").rename(tmp_path / "moved")
    capsys.readouterr()
    moved = f"inputs={tmp_path / 'moved'}"
    assert main(["run", str(cfg), "--runs", str(runs), "--set", moved, "--dry-run"]) == 0
    assert "0 to run, 2 finished in folders of an earlier fmi_mx (renamed, not run)" in capsys.readouterr().out
    assert main(["check", str(cfg), "--runs", str(runs), "--set", moved]) == 0
    assert "0 not run, 2 finished in folders of an earlier fmi_mx" in capsys.readouterr().out
    assert main(["run", str(cfg), "--runs", str(runs), "--set", moved]) == 0
    out = capsys.readouterr().out
    assert "2 finished job(s) renamed" in out and "all 2 jobs are finished" in out
    for job in expanded:
        assert (runs / "m" / job.id / "result.png").read_bytes() == results[job.id]
    assert sorted(p.name for p in (runs / "m").iterdir() if p.is_dir()) == sorted(results)
