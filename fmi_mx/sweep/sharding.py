"""Splitting a sweep: device lists, deterministic cost-balanced shards, SLURM's array variables.

Pure functions of their inputs (no MXNet), so the parent process and tests can use them freely.
"""
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..backend import devices as device_names
from ..backend.cpus import physical_cores
from ..core.network import vgg
from ..errors import FmiError


def parse_devices(devices: Optional[str] = None, gpus: Optional[str] = None) -> Optional[List[str]]:
    """``--devices gpu:0,gpu:1`` or ``--gpus 0,1`` (shorthand) -> ['gpu:0', 'gpu:1']; None if neither."""
    if devices and gpus:
        raise FmiError("give --devices or --gpus, not both")
    if gpus:
        devices = ",".join(f"gpu:{g.strip()}" for g in gpus.split(","))
    if not devices:
        return None
    out = [d.strip() for d in devices.split(",") if d.strip()]
    for d in out:
        device_names.parse(d)
    return out


def visible_gpu(device: str, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The CUDA_VISIBLE_DEVICES entry a worker on ``device`` must see: gpu:i is the i-th GPU this
    process may use (SLURM's grant, if any), so no worker touches another's GPU; None for CPU."""
    kind, i = device_names.parse(device)
    if kind != "gpu":
        return None
    granted = [g for g in environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    if granted:
        if i >= len(granted):
            raise FmiError(f"device {device}: only {len(granted)} GPU(s) granted (CUDA_VISIBLE_DEVICES="
                           f"{environ['CUDA_VISIBLE_DEVICES']})")
        return granted[i].strip()
    return str(i)


def slurm_shard(environ: Mapping[str, str] = os.environ) -> Tuple[int, int]:
    """(K, N) of this array task, 1-based K, from SLURM_ARRAY_TASK_ID/_MIN/_COUNT."""
    missing = [k for k in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT") if k not in environ]
    if missing:
        raise FmiError(f"--shard slurm needs {' and '.join(missing)}: run it inside an sbatch --array job "
                       "(or use --shard K/N)")
    task, count = int(environ["SLURM_ARRAY_TASK_ID"]), int(environ["SLURM_ARRAY_TASK_COUNT"])
    first = int(environ.get("SLURM_ARRAY_TASK_MIN", 0))
    k = task - first + 1
    if not 1 <= k <= count:
        raise FmiError(f"SLURM_ARRAY_TASK_ID={task} is outside the array (min {first}, count {count})")
    return k, count


def slurm_devices(environ: Mapping[str, str] = os.environ) -> Optional[List[str]]:
    """One worker per GPU SLURM granted (CUDA_VISIBLE_DEVICES), or None when it granted none."""
    granted = [g for g in environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return [f"gpu:{i}" for i in range(len(granted))] or None


def parse_shard(text: str, environ: Mapping[str, str] = os.environ) -> Tuple[int, int]:
    """``K/N`` (1-based) or ``slurm``."""
    if text == "slurm":
        return slurm_shard(environ)
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise FmiError(f"--shard {text!r}: use K/N with 1 <= K <= N, or slurm")
    return int(k), int(n)


def cost(net: vgg.Network, layers: Sequence[str], height: int, width: int, iterations: int) -> float:
    """Expected work of a job: conv multiply-adds up to its deepest layer, times its iterations."""
    return net.conv_macs(layers, height, width) * iterations


def shard(costs: Dict[str, float], k: int, n: int) -> List[str]:
    """The ids of shard k of n: greedy longest-first onto the least-loaded shard. Deterministic
    (ties by id and shard number), disjoint and jointly complete."""
    loads = [0.0] * n
    owner = {}
    for job_id in sorted(costs, key=lambda j: (-costs[j], j)):
        s = min(range(n), key=lambda i: (loads[i], i))
        owner[job_id] = s
        loads[s] += costs[job_id]
    return [j for j in costs if owner[j] == k - 1]


def omp_threads(n_workers: int, environ: Mapping[str, str] = os.environ) -> int:
    """OpenMP threads per worker: OMP_NUM_THREADS if the user set it, else SLURM_CPUS_PER_TASK (or the
    physical cores) shared among the workers."""
    if environ.get("OMP_NUM_THREADS", "").isdigit():
        return int(environ["OMP_NUM_THREADS"])
    cpus = int(environ.get("SLURM_CPUS_PER_TASK") or physical_cores())
    return max(1, cpus // max(1, n_workers))
