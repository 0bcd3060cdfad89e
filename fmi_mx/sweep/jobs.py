"""Job bookkeeping: an experiment's jobs and their stable ids, which are done, how they group into
batches that share a graph and into cost-balanced shards, and running one batch into result files.

A job is finished when its ``<job-id>/result.json`` (written last, atomically) and the files it lists
are intact (``results.examine``).
"""
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from . import results, sharding
from .results import diverged
from .. import files
from ..core.image import images, snapshots
from ..core.run import memory, record
from ..core.run.engine import Inputs, Runner, batch_key
from ..core.optimisation import loop
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


def job_id(task: Task, weights_sha256: str, picture: Callable[[str], str] = str) -> str:
    """A hash of everything that decides the result (the task's result-changing fields and the weights),
    12 hex digits; ``picture`` names an image source in it (``pictures.token``: by its content)."""
    blob = json.dumps({"kind": task.KIND, "task": task.identity(picture), "weights": weights_sha256},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def expand(exp: Experiment, weights_sha256: str) -> List[Job]:
    """Every job of every panel, in a stable order; a job listed twice runs once."""
    tokens = PictureTokens()
    jobs = [Job(job_id(task, weights_sha256, tokens), panel, task) for panel, task in exp.tasks()]
    return list({job.id: job for job in jobs}.values())


class PictureTokens:
    """How job ids name pictures: ``sample:NAME`` as it is, a file by the sha256 of its bytes (read once
    per file), so moving the inputs or the checkout keeps every id and new pixels change it."""

    def __init__(self):
        self._known: Dict[str, str] = {}

    def __call__(self, source: str) -> str:
        if source.startswith(images.SAMPLE_PREFIX):
            return source
        if source not in self._known:
            try:
                self._known[source] = "sha256:" + files.sha256(Path(source))
            except OSError:
                self._known[source] = source  # not readable: the config check names it before any run
        return self._known[source]


def folder(exp: Experiment, runs: Path) -> Path:
    return Path(runs) / exp.name


def migrate(root: Path, jobs: List[Job], weights_sha256: str) -> List[str]:
    """Finished jobs in folders named the way ids were made before pictures entered them by their bytes
    (by their path then): each moved to its job's folder, its sidecar's ``job`` field updated, and its
    pictures given integrity records. A job is found by what it reads: where its pictures lay when it ran
    (as its old sidecar says), so moving the inputs before the first run of this version loses nothing.
    A job folder holding only the lock of a process that is gone does not stand in the way. Returns the
    ids moved."""
    moved = []
    for job_id_, old in migratable(root, jobs, weights_sha256, clear=True).items():
        os.replace(root / old, root / job_id_)
        sidecar = root / job_id_ / "result.json"
        try:
            record = json.loads(sidecar.read_text())
            files.write_json(sidecar, {**record, "job": job_id_, **_integrity(root / job_id_, record)})
        except (OSError, ValueError, AttributeError):
            pass  # a damaged sidecar: the job is redone like any damaged one
        moved.append(job_id_)
    return moved


def migratable(root: Path, jobs: List[Job], weights_sha256: str, clear: bool = False) -> Dict[str, str]:
    """The ids of the jobs ``migrate`` would move, each with the folder it would move from; ``clear``: remove
    the stale-lock folders in the way (a dry run leaves them)."""
    out: Dict[str, str] = {}
    if not Path(root).is_dir():
        return out
    earlier = _earlier_paths(root, {job.id for job in jobs})
    for job in jobs:
        if (root / job.id).exists() and not (_clear_stale(root / job.id) if clear else _only_lock(root / job.id)):
            continue
        old = next((old for old in _old_ids(job, weights_sha256, earlier)
                    if old != job.id and (root / old / "result.json").is_file()), None)
        if old is not None:
            out[job.id] = old
    return out


def _earlier_paths(root: Path, current: set) -> Dict[str, set]:
    """Picture name -> the paths finished jobs of other ids read it from (their sidecars' task)."""
    out: Dict[str, set] = {}
    if not root.is_dir():
        return out
    for folder in root.iterdir():
        if folder.name in current or not (folder / "result.json").is_file():
            continue
        try:
            task = json.loads((folder / "result.json").read_text()).get("task", {})
        except (OSError, ValueError, AttributeError):
            continue
        for key in ("content", "style"):
            if isinstance(task.get(key), str):
                out.setdefault(Path(task[key]).name, set()).add(task[key])
    return out


def _old_ids(job: Job, weights_sha256: str, earlier: Dict[str, set]) -> Iterator[str]:
    """The ids ``job`` had when ids held the pictures' paths: where its pictures are now, then where jobs
    of other ids read a picture of the same name from."""
    yield job_id(job.task, weights_sha256)
    pictures = {key: getattr(job.task, key, None) for key in ("content", "style")}
    options = {key: sorted(earlier.get(Path(value).name, ())) for key, value in pictures.items()
               if isinstance(value, str) and not value.startswith("sample:")}
    for key, paths in options.items():
        for path in paths:
            if path != pictures[key]:
                yield job_id(dataclasses.replace(job.task, **{key: path}), weights_sha256)


def _only_lock(folder: Path) -> bool:
    return folder.is_dir() and [p.name for p in folder.iterdir()] == [".lock"]


def _clear_stale(folder: Path) -> bool:
    """Remove a job folder that holds nothing but a lock nobody holds (its process is gone); True if removed."""
    if not _only_lock(folder):
        return False
    lock = _lock(folder / ".lock")
    if lock is None:
        return False  # a live process holds it
    _unlock(lock)
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


def _integrity(folder: Path, record: dict) -> dict:
    """The ``files`` list an older sidecar lacks, made once at migration from pictures that decode; none when
    one does not (the job is then redone), so that later damage is noticed like any other."""
    from ..core.image import images
    from ..core.run import record as record_module

    if isinstance(record.get("files"), dict):
        return {}
    listed = {}
    for name in ("result.png", "raw.png"):
        path = folder / name
        if path.is_file():
            try:
                images.check(str(path), decode=True)
            except FmiError:
                return {}
            listed[name] = record_module.listed_file(path.read_bytes())
    return {"files": listed} if "result.png" in listed else {}


def is_done(root: Path, job: Job, retry_diverged: bool = False, need_raw: bool = False) -> bool:
    """Finished and intact (``results.examine``), and with ``retry_diverged``, not diverged."""
    found = results.examine(root / job.id, job.id, need_raw)
    return found.done and not (retry_diverged and diverged(found.record))


@contextlib.contextmanager
def claims(root: Path, batch: List[Job], retry_diverged: bool = False,
           need_raw: bool = False) -> Iterator[Tuple[List[Job], List[Job]]]:
    """(ours, theirs): the jobs of a batch this process now holds, and those another process runs or
    has finished. A hold is a lock (flock) on ``<job-id>/.lock``: released with the process, so the
    lock of a process that died is free; removed when the batch is over."""
    held, theirs = {}, []
    try:
        for job in batch:
            lock = _lock(root / job.id / ".lock")
            if lock is None or is_done(root, job, retry_diverged, need_raw):
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


def image_shapes(jobs: List[Job]) -> Dict[str, Tuple[int, int, int]]:
    """Each job's network input shape (3, H, W), from its content image's header (nothing decoded)."""
    headers: Dict[str, Tuple[int, int]] = {}
    out = {}
    for job in jobs:
        t = job.task
        if t.content is None:  # a visualisation: size px square
            out[job.id] = (3, t.size, t.size)
            continue
        if t.content not in headers:
            headers[t.content] = images.check(t.content)
        out[job.id] = (3,) + images.long_edge_shape(*headers[t.content], t.size)
    return out


def group(jobs: List[Job], n_workers: int, shapes: Dict[str, Tuple[int, int, int]]) -> List[List[Job]]:
    """Jobs that can share a batch (``engine.batch_key``) and a content image travel together, in chunks
    small enough to keep every worker busy; a worker's Runner binds each graph once anyway."""
    by_key: Dict[tuple, List[Job]] = {}
    for job in jobs:
        by_key.setdefault((batch_key(job.task, shapes[job.id]), job.task.content), []).append(job)
    chunk = max(1, -(-len(jobs) // (2 * max(1, n_workers))))
    return [g[i:i + chunk] for g in by_key.values() for i in range(0, len(g), chunk)]


def job_cost(job: Job) -> float:
    """A job's expected work at most (see sharding.cost), its image taken as square at ``size``."""
    t = job.task
    return sharding.cost(t.net, t.layers_read(), t.size, t.size, t.optimise.stop.max_iterations)


def select_shard(jobs: List[Job], k: int, n: int) -> List[Job]:
    """Shard k of n of the job list, balanced by expected cost (see sharding.shard)."""
    costs = {job.id: job_cost(job) for job in jobs}
    chosen = set(sharding.shard(costs, k, n))
    return [job for job in jobs if job.id in chosen]


def batches(jobs: List[Job], runner: Runner, batch_size: int = 0, max_memory: float = memory.DEFAULT_MAX_MEMORY,
            continuous: bool = False, save_every: int = 0) -> Iterator[Tuple[List[Job], List[Inputs]]]:
    """Split jobs into batches that share a graph, each as large as ``batch_size`` (0: as many as fit
    ``max_memory``, at most memory.MAX_BATCH), or when they stream (``loop.streams``), one stream per graph (its jobs run
    through slots of that size); yields (jobs, their network inputs)."""
    cache: Dict[tuple, Inputs] = {}
    by_key: Dict[tuple, list] = {}
    for job in jobs:
        t = job.task
        source = (t.content, t.style, t.size)
        if source not in cache:
            cache[source] = runner.inputs(t)
        by_key.setdefault(batch_key(t, cache[source][0].shape), []).append((job, cache[source]))
    for key, items in by_key.items():
        as_stream = loop.streams(continuous, save_every, key.settings.method)
        b = len(items) if as_stream else batch_size or memory.batch_size(runner.graphs.net, key.graph, max_memory)
        for i in range(0, len(items), b):
            chunk = items[i:i + b]
            yield [job for job, _ in chunk], [inputs for _, inputs in chunk]


def execute(batch: List[Job], inputs: List[Inputs], runner: Runner, root: Path, experiment: str,
            worker: str = "", on_saved: Optional[Callable[[Job, Dict[str, object]], None]] = None,
            spec: Optional[WorkerSpec] = None) -> None:
    """Run one batch of jobs; save each job (picture, then sidecar: the mark of a finished job) as soon
    as its optimisation stops, and tell ``on_saved``. A failed save raises ``OutputError``. ``spec``
    may ask for the image before denoising (``raw.png``, which the atlas scores) and snapshots."""
    spec = spec or WorkerSpec(root=str(root), experiment=experiment, network=runner.weights.network)
    start = time.perf_counter()

    def save(i: int, result) -> None:
        job = batch[i]
        sidecar = record.record(job.task, result, runner.weights, runner.device)
        record.save(root / job.id / "result.png", result.image,
                    {"job": job.id, "experiment": experiment, "labels": job.labels, "worker": worker,
                     "pid": os.getpid(), **sidecar},
                    raw=result.raw(runner.weights.mean_rgb) if spec.keep_raw else None)
        if spec.run.animate:
            snapshots.animate(root / job.id / "snapshots", root / job.id / "animation.gif", result.image)
        (root / job.id / "failed.json").unlink(missing_ok=True)
        if on_saved:
            on_saved(job, {"seconds": time.perf_counter() - start, "iterations": result.outcome.iterations,
                           "batch_size": len(batch), "stop_reason": result.outcome.stop_reason,
                           "code_error": result.metrics["code_error"],
                           "seconds_per_iteration": result.outcome.seconds_per_iteration})

    def snapshot(i: int, update: int, rgb) -> None:
        snapshots.write(root / batch[i].id / "snapshots", update, rgb)

    if spec.run.save_every:
        for job in batch:
            snapshots.clear(root / job.id / "snapshots")  # a job run again starts its snapshots afresh

    tasks = [job.task for job in batch]
    if loop.streams(spec.run.continuous, spec.run.save_every, tasks[0].optimise.method):
        slots = spec.run.batch_size or memory.batch_size(runner.graphs.net, batch_key(tasks[0], inputs[0][0].shape).graph,
                                                     spec.run.max_memory)
        runner.run_stream(tasks, inputs, slots, on_result=save)
    else:
        runner.run_batch(tasks, inputs, on_result=save, save_every=spec.run.save_every, on_snapshot=snapshot)


def over_budget(jobs: List[Job], max_memory: float, shapes: Dict[str, Tuple[int, int, int]]) -> Dict[str, str]:
    """Jobs that cannot fit ``max_memory`` even alone, with the one-line reason (checked before any run).

    Shapes come from the image headers, nothing is decoded. An EXIF rotation may swap H and W there,
    which changes neither the estimate nor the size check (both are symmetric in H and W)."""
    problems = {}
    for job in jobs:
        t, shape = job.task, shapes[job.id]
        try:
            t.net.check_size(t.layers_read(), shape[1], shape[2])
            memory.batch_size(t.net, t.graph_key(shape), max_memory, what=f"job {job.id}")
        except FmiError as e:
            problems[job.id] = str(e)
    return problems
