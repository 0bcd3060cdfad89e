"""A real single-node SLURM (Debian's slurm-wlm + munge) on localhost: the smoke figure 4 as an
array of two tasks through experiments/slurm/sweep.sbatch, then its figure.

Skipped, with the reason, where the daemons are not installed or cannot start.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid(path: Path):
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@pytest.fixture
def slurm(tmp_path):
    missing = [b for b in NEEDED if not shutil.which(b)]
    if missing:
        pytest.skip(f"SLURM is not installed here (missing {', '.join(missing)}; Debian: apt-get install slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("this test starts slurmd, which needs root")
    d = tmp_path / "slurm"
    for sub in ("state", "spool", "munge"):
        (d / sub).mkdir(parents=True)
    key = d / "munge" / "munge.key"
    key.write_bytes(os.urandom(128))
    key.chmod(0o400)
    sock = d / "munge" / "sock"
    subprocess.run(["munged", "--force", "-S", str(sock), f"--key-file={key}", f"--pid-file={d}/munge/pid",
                    f"--log-file={d}/munge/log", f"--seed-file={d}/munge/seed"], check=True)
    host = socket.gethostname().split(".")[0]
    conf = d / "slurm.conf"
    conf.write_text(f"""ClusterName=fmitest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(["slurmctld", "-c"], env=env, check=True)
    subprocess.run(["slurmd", "-c"], env=env, check=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout
            if out.strip() == "idle":
                break
            time.sleep(0.5)
        else:
            log = (d / "slurmd.log").read_text()[-400:] if (d / "slurmd.log").exists() else "no slurmd log"
            pytest.skip(f"slurmd did not come up in this sandbox: {log}")
        yield env
    finally:
        for name in ("slurmd.pid", "slurmctld.pid", "munge/pid"):
            pid = _pid(d / name)
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def test_sbatch_array_runs_the_shards_and_assembles_the_figure(slurm, tmp_path):
    runs, logs = tmp_path / "runs", tmp_path / "logs"
    logs.mkdir()
    env = {**slurm, "CONFIG": "experiments/smoke/fig4.yaml", "FMI_MX_ARGS": f"--runs {runs}",
           "FMI_MX": str(Path(sys.executable).parent / "fmi-mx")}
    submitted = subprocess.run(["sbatch", "--parsable", "--array=0-1", "--gres=none", "--mem=1G",
                                "--cpus-per-task=1", f"--output={logs}/%A_%a.out", "experiments/slurm/sweep.sbatch"],
                               cwd=ROOT, env=env, capture_output=True, text=True)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip().split(";")[0]
    deadline = time.time() + 300
    while time.time() < deadline:
        queue = subprocess.run(["squeue", "-h", "-j", job], env=env, capture_output=True, text=True).stdout
        if not queue.strip():
            break
        time.sleep(1)
    outputs = {p.name: p.read_text() for p in logs.glob("*.out")}
    root = runs / "smoke-fig4"
    assert len(outputs) == 2, outputs
    assert len(list(root.glob("*/result.json"))) == 6, outputs
    assert {p.name for p in root.glob("environment.shard-*")} == {"environment.shard-1-of-2.json",
                                                                   "environment.shard-2-of-2.json"}
    assert (root / "fig4.png").is_file(), outputs
