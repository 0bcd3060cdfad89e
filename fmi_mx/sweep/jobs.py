"""Job bookkeeping: an experiment's jobs and their stable ids, which are done, how they group into
executor-sharing batches and cost-balanced shards, and running one batch into result files.

A job is finished exactly when its ``<job-id>/result.json`` exists (written last, atomically).
"""
import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from . import sharding
from ..core import images, memory, record, snapshots, vgg
from ..core.engine import Inputs, Runner, batch_key
from ..core.tasks import Task
from ..errors import FmiError
from ..files import OutputError
from .config import Experiment
from .messages import WorkerSpec


@dataclass(frozen=True)
class Job:
    """One task of an experiment, with the id that names its folder."""

    id: str
    panel: int
    task: Task

    @property
    def labels(self) -> Dict[str, object]:
        return self.task.labels()


def job_id(task: Task, weights_sha256: str) -> str:
    """A hash of everything that affects the result (the task and the weights), 12 hex digits."""
    fields = dict(asdict(task), optimise=task.optimise.identity())
    if fields["network"] == vgg.DEFAULT:  # the field came after the first ids: VGG-19 jobs keep theirs
        del fields["network"]
    blob = json.dumps({"kind": type(task).__name__, "task": fields, "weights": weights_sha256},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def expand(exp: Experiment, weights_sha256: str) -> List[Job]:
    """Every job of every panel, in a stable order; a job listed twice runs once."""
    jobs = [Job(job_id(task, weights_sha256), panel, task) for panel, task in exp.tasks()]
    return list({job.id: job for job in jobs}.values())


def folder(exp: Experiment, runs: Path) -> Path:
    return Path(runs) / exp.name


def is_done(root: Path, job: Job, retry_diverged: bool = False) -> bool:
    """Finished: its sidecar exists (and, with ``retry_diverged``, the optimisation did not diverge)."""
    if not (root / job.id / "result.json").is_file():
        return False
    return not (retry_diverged and is_diverged(root, job))


def is_diverged(root: Path, job: Job) -> bool:
    """Finished, but its optimisation turned non-finite (its last finite image was kept)."""
    sidecar = root / job.id / "result.json"
    return sidecar.is_file() and diverged(json.loads(sidecar.read_text()))


def diverged(summary: Dict[str, object]) -> bool:
    """Did the optimisation turn non-finite (a sidecar or a job summary)?"""
    return summary.get("stop_reason") == "non_finite"


@contextlib.contextmanager
def claims(root: Path, batch: List[Job], retry_diverged: bool = False) -> Iterator[Tuple[List[Job], List[Job]]]:
    """(ours, theirs): the jobs of a batch this process now holds, and those another process runs or
    has finished. A hold is a lock (flock) on ``<job-id>/.lock``: released with the process, so the
    lock of a process that died is free; removed when the batch is over."""
    held, theirs = {}, []
    try:
        for job in batch:
            lock = _lock(root / job.id / ".lock")
            if lock is None or is_done(root, job, retry_diverged):
                theirs.append(job)
                if lock is not None:
                    _unlock(lock)
            else:
                held[job.id] = lock
        yield [job for job in batch if job.id in held], theirs
    finally:
        for lock in held.values():
            _unlock(lock)


def _lock(path: Path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            f = open(path, "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                return None
            if path.exists() and os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
                f.write(f"{socket.gethostname()} {os.getpid()}\n")
                f.flush()
                return f
            f.close()  # its holder removed it meanwhile: lock the new one
    except OSError as e:
        raise OutputError(f"cannot lock {path}: {e.strerror or e}") from None


def _unlock(f) -> None:
    Path(f.name).unlink(missing_ok=True)
    f.close()


def group(jobs: List[Job], n_workers: int) -> List[List[Job]]:
    """Jobs that share an executor (mode, layers, content, size, pooling) travel together, in chunks
    small enough to keep every worker busy; a worker's Runner binds each graph once anyway."""
    by_key: Dict[tuple, List[Job]] = {}
    for job in jobs:
        t = job.task
        by_key.setdefault((t.mode, t.layers_read(), t.content, t.size, t.pooling), []).append(job)
    chunk = max(1, -(-len(jobs) // (2 * max(1, n_workers))))
    return [g[i:i + chunk] for g in by_key.values() for i in range(0, len(g), chunk)]


def job_cost(job: Job) -> float:
    """A job's expected work at most (see sharding.cost), its image taken as square at ``size``."""
    t = job.task
    return sharding.cost(t.net, t.layers_read(), t.size, t.size, t.optimise.max_iterations)


def select_shard(jobs: List[Job], k: int, n: int) -> List[Job]:
    """Shard k of n of the job list, balanced by expected cost (see sharding.shard)."""
    costs = {job.id: job_cost(job) for job in jobs}
    chosen = set(sharding.shard(costs, k, n))
    return [job for job in jobs if job.id in chosen]


def batches(jobs: List[Job], runner: Runner, batch_size: int = 0,
            max_memory: float = memory.DEFAULT_MAX_MEMORY) -> Iterator[Tuple[List[Job], List[Inputs]]]:
    """Split jobs into batches that share an executor, each as large as ``batch_size`` (0: as many as
    fit ``max_memory``, at most memory.MAX_BATCH); yields (jobs, their network inputs)."""
    cache: Dict[tuple, Inputs] = {}
    by_key: Dict[tuple, list] = {}
    for job in jobs:
        t = job.task
        source = (t.content, t.style, t.size)
        if source not in cache:
            cache[source] = runner.inputs(t)
        by_key.setdefault(batch_key(t, cache[source][0].shape), []).append((job, cache[source]))
    for key, items in by_key.items():
        b = batch_size or memory.batch_size(runner.executors.net, key[0], (1,) + key[1], max_memory, settings=key[3])
        for i in range(0, len(items), b):
            chunk = items[i:i + b]
            yield [job for job, _ in chunk], [inputs for _, inputs in chunk]


def execute(batch: List[Job], inputs: List[Inputs], runner: Runner, root: Path, experiment: str,
            worker: str = "", on_saved: Optional[Callable[[Job, Dict[str, object]], None]] = None,
            spec: Optional[WorkerSpec] = None) -> None:
    """Run one batch of jobs; save each job (picture, then sidecar: the mark of a finished job) as soon
    as its optimisation stops, and tell ``on_saved``. A failed save raises ``OutputError``. ``spec``
    may ask for the image before denoising (``raw.png``, which the atlas scores) and snapshots."""
    spec = spec or WorkerSpec(str(root), experiment, "", runner.weights.network, 0, 0.0)
    start = time.perf_counter()

    def save(i: int, result) -> None:
        job = batch[i]
        sidecar = record.record(job.task, result, runner.weights, runner.device)
        record.save(root / job.id / "result.png", result.image,
                    {"job": job.id, "experiment": experiment, "labels": job.labels, "worker": worker,
                     "pid": os.getpid(), **sidecar},
                    raw=result.raw(runner.weights.mean_rgb) if spec.keep_raw else None)
        if spec.animate:
            snapshots.animate(root / job.id / "snapshots", root / job.id / "animation.gif", result.image)
        (root / job.id / "failed.json").unlink(missing_ok=True)
        if on_saved:
            on_saved(job, {"seconds": time.perf_counter() - start, "iterations": result.outcome.iterations,
                           "batch_size": len(batch), "stop_reason": result.outcome.stop_reason,
                           "code_error": result.metrics["code_error"],
                           "seconds_per_iteration": result.outcome.seconds_per_iteration})

    def snapshot(i: int, update: int, rgb) -> None:
        snapshots.write(root / batch[i].id / "snapshots", update, rgb)

    runner.run_batch([job.task for job in batch], inputs, on_result=save, save_every=spec.save_every,
                     on_snapshot=snapshot)


def over_budget(jobs: List[Job], max_memory: float) -> Dict[str, str]:
    """Jobs that cannot fit ``max_memory`` even alone, with the one-line reason (checked before any run).

    Shapes come from the image headers, nothing is decoded. An EXIF rotation may swap H and W there,
    which changes neither the estimate nor the size check (both are symmetric in H and W)."""
    headers: Dict[str, Tuple[int, int]] = {}
    problems = {}
    for job in jobs:
        t = job.task
        if t.content not in headers:
            headers[t.content] = images.check(t.content)
        h, w = images.long_edge_shape(*headers[t.content], t.size)
        try:
            t.net.check_size(t.layers_read(), h, w)
            memory.batch_size(t.net, t.terms(h, w), (1, 3, h, w), max_memory, what=f"job {job.id}", settings=t.optimise)
        except FmiError as e:
            problems[job.id] = str(e)
    return problems
