"""Several workers, shards and SLURM variables, on the smoke sweeps (32 px, random weights)."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmi_mx.core.image import images
from fmi_mx.core.network.vgg import VGG19
from fmi_mx.sweep import config, experiment, jobs, sharding
from fmi_mx.cli import main
from fmi_mx.errors import FmiError

import faults

SMOKE = Path(__file__).resolve().parents[1] / "experiments" / "smoke"


def _sidecars(root):
    return {json.loads(p.read_text())["job"]: json.loads(p.read_text()) for p in root.glob("*/result.json")}


@pytest.mark.slow
def test_two_cpu_workers_run_every_job_once_and_match_one_worker(tmp_path):
    exp = config.load(SMOKE / "fig3.yaml")
    two = experiment.run(exp, tmp_path / "two", devices=["cpu", "cpu"], log=lambda _: None)
    one = experiment.run(exp, tmp_path / "one", devices=["cpu"], log=lambda _: None)
    assert not two.failed and set(two.done) == set(one.done) and len(two.done) == 18
    assert all(count == 1 for count in two.done.values())
    sidecars = _sidecars(tmp_path / "two" / exp.name)
    assert len(sidecars) == 18 and {s["worker"] for s in sidecars.values()} == {"0@cpu", "1@cpu"}
    for job_id in sidecars:
        a = images.read(tmp_path / "two" / exp.name / job_id / "result.png").astype(float)
        b = images.read(tmp_path / "one" / exp.name / job_id / "result.png").astype(float)
        assert np.abs(a - b).max() <= 1  # same optimisation; at most a rounding step apart
    assert set(two.workers) == {0, 1} and sum(w["jobs"] for w in two.workers.values()) == 18


@pytest.mark.parametrize("name", ["fig3", "fig4", "fig5"])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_partition_the_job_list(name, n):
    exp = config.load(SMOKE / f"{name}.yaml")
    every = jobs.expand(exp, "sha")
    shards = [jobs.select_shard(every, k, n) for k in range(1, n + 1)]
    ids = [job.id for s in shards for job in s]
    assert sorted(ids) == sorted(job.id for job in every) and len(set(ids)) == len(ids)
    assert shards == [jobs.select_shard(every, k, n) for k in range(1, n + 1)]  # deterministic


def test_shards_balance_cost_not_count():
    costs = {"big": 10.0, "a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0}
    assert sharding.shard(costs, 1, 2) == ["big"]
    assert sharding.shard(costs, 2, 2) == ["a", "b", "c", "d", "e"]
    deep = sharding.cost(VGG19, ["relu5_1"], 64, 64, 10)
    assert deep > sharding.cost(VGG19, ["relu1_1"], 64, 64, 10) and sharding.cost(VGG19, ["relu1_1"], 64, 64, 20) == \
        2 * sharding.cost(VGG19, ["relu1_1"], 64, 64, 10)


def test_slurm_variables_map_to_shard_and_devices():
    env = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3",
           "CUDA_VISIBLE_DEVICES": "2,3", "SLURM_CPUS_PER_TASK": "8"}
    assert sharding.parse_shard("slurm", env) == (2, 3)
    assert sharding.slurm_devices(env) == ["gpu:0", "gpu:1"]
    assert [sharding.visible_gpu(d, env) for d in ("gpu:0", "gpu:1", "cpu")] == ["2", "3", None]
    assert sharding.omp_threads(2, env) == 4
    with pytest.raises(FmiError, match="only 2 GPU"):
        sharding.visible_gpu("gpu:2", env)
    with pytest.raises(FmiError, match="needs SLURM_ARRAY_TASK_ID"):
        sharding.parse_shard("slurm", {"SLURM_ARRAY_TASK_COUNT": "2"})
    assert sharding.parse_shard("slurm", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}) == (1, 2)
    assert sharding.slurm_devices({}) is None and sharding.visible_gpu("gpu:1", {}) == "1"
    with pytest.raises(FmiError, match="K/N"):
        sharding.parse_shard("4/3")
    assert sharding.parse_devices(gpus="0, 1") == ["gpu:0", "gpu:1"]
    with pytest.raises(FmiError, match="unknown device 'tpu:0'"):
        sharding.parse_devices("cpu,tpu:0")


@pytest.mark.slow
def test_shards_fill_one_folder_and_the_figure_waits_for_all(tmp_path, capsys):
    args = ["run", str(SMOKE / "fig4.yaml"), "--runs", str(tmp_path)]
    assert main(args + ["--shard", "1/2"]) == 0
    assert "no figure yet" in capsys.readouterr().out
    assert not (tmp_path / "smoke-fig4" / "fig4.png").exists()
    assert main(["figure", str(SMOKE / "fig4.yaml"), "--runs", str(tmp_path)]) == 1
    assert main(args + ["--shard", "2/2"]) == 0
    assert (tmp_path / "smoke-fig4" / "fig4.png").is_file()
    names = {p.name for p in (tmp_path / "smoke-fig4").iterdir()}
    assert {"environment.shard-1-of-2.json", "environment.shard-2-of-2.json"} <= names


@pytest.mark.slow
def test_a_killed_worker_fails_its_job_only_and_a_rerun_completes_it(tmp_path, monkeypatch):
    # batch_size 1: a dying worker loses the batch it runs, here the one job
    exp = dataclasses.replace(config.load(SMOKE / "fig3.yaml"), batch_size=1)
    victim = jobs.expand(exp, experiment.weights_module.resolve(exp.weights).sha256)[4].id
    monkeypatch.setenv(faults.VICTIM_ENV, victim)
    first = experiment.run(exp, tmp_path, devices=["cpu", "cpu"], log=lambda _: None,
                           worker_class=faults.KillingWorker)
    assert set(first.failed) == {victim} and "died (signal 9)" in first.failed[victim]
    root = tmp_path / exp.name
    done = _sidecars(root)
    assert len(done) == 17 and victim not in done
    assert "died (signal 9)" in json.loads((root / victim / "failed.json").read_text())["error"]
    before = {p: p.stat().st_mtime_ns for p in root.glob("*/result.json")}
    cmd = [sys.executable, "-m", "fmi_mx.cli", "run", str(SMOKE / "fig3.yaml"), "--runs", str(tmp_path),
           "--devices", "cpu,cpu", "--set", "batch_size=1"]
    second = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    assert second.returncode == 0, second.stderr
    assert len(_sidecars(root)) == 18 and not (root / victim / "failed.json").exists()
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # only the failed job ran again


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != faults.VICTIM_ENV}


def _default_sigint():
    """For Popen: the run hears Ctrl-C even if this pytest process ignores SIGINT by now (something
    earlier in the full suite leaves it so; a child would inherit that and never get KeyboardInterrupt)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_worker_module_does_not_import_mxnet():
    """Spawned workers import fmi_mx.sweep.pool, and the parent's main module (the CLI), before they
    choose their GPU: neither may pull in MXNet."""
    code = ("import sys, fmi_mx, fmi_mx.sweep.pool, fmi_mx.sweep.sharding, fmi_mx.cli, fmi_mx.api; "
            "print('mxnet' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["module", "console script"])
def test_workers_choose_their_device_before_importing_mxnet(tmp_path, launcher):
    prefix = [sys.executable, "-m", "fmi_mx.cli"] if launcher == "module" else [str(Path(sys.executable).parent / "fmi-mx")]
    out = subprocess.run(prefix + ["run", str(SMOKE / "fig4.yaml"), "--runs", str(tmp_path), "--devices", "cpu,cpu"],
                         capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stderr
    assert "worker 1 on cpu" in out.stdout and "before choosing its device" not in out.stdout


@pytest.mark.slow
def test_sigusr1_finishes_the_current_jobs_then_stops(tmp_path):
    """SLURM's warning signal: workers finish what they run, start nothing new, the run exits non-zero."""
    import signal
    import time

    cmd = [sys.executable, "-m", "fmi_mx.cli", "run", str(SMOKE / "fig3.yaml"), "--runs", str(tmp_path),
           "--set", "optimise.max_iterations=60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env())
    root = tmp_path / "smoke-fig3"
    deadline = time.time() + 120
    while not list(root.glob("*/result.json")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGUSR1)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "left for the next run" in err
    done = list(root.glob("*/result.json"))
    assert 1 <= len(done) < 18 and all((p.parent / "result.png").is_file() for p in done)
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_gpu_without_a_gpu_build_says_so_in_one_line(tmp_path, capsys):
    from fmi_mx.backend.mx import mx

    if mx.runtime.Features().is_enabled("CUDA"):
        pytest.skip("this MXNet is a GPU build")
    assert main(["run", str(SMOKE / "fig4.yaml"), "--runs", str(tmp_path), "--gpus", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a GPU build of MXNet" in err[0]
    assert not list(tmp_path.glob("*/*/result.json"))


def test_physical_cores_counts_hyperthread_siblings_once(tmp_path):
    from fmi_mx.backend.cpus import physical_cores

    for cpu, siblings in enumerate(["0,2", "1,3", "0,2", "1,3"]):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "thread_siblings_list").write_text(siblings + "\n")
    import os

    usable = os.sched_getaffinity(0)
    expected = len({["0,2", "1,3"][c % 2] if c < 4 else str(c) for c in usable})
    assert physical_cores(tmp_path) == expected
    assert sharding.omp_threads(2, {"OMP_NUM_THREADS": "3"}) == 3
    assert sharding.omp_threads(2, {"SLURM_CPUS_PER_TASK": "8"}) == 4


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_keeps_finished_jobs(tmp_path):
    import os
    import signal
    import time

    cmd = [sys.executable, "-m", "fmi_mx.cli", "run", str(SMOKE / "fig3.yaml"), "--runs", str(tmp_path),
           "--devices", "cpu,cpu", "--set", "optimise.max_iterations=60", "--set", "batch_size=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
                            preexec_fn=_default_sigint)
    root = tmp_path / "smoke-fig3"
    deadline = time.time() + 120
    while len(list(root.glob("*/result.json"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "left for the next run" in err
    done = _sidecars(root)
    assert 2 <= len(done) < 18
    time.sleep(0.5)
    for pid in {record["pid"] for record in done.values()}:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the workers are gone
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
