"""Expand an experiment into jobs with stable ids, run the unfinished ones, keep the finished ones.

Layout: ``runs/<experiment>/config.resolved.yaml``, ``environment.json`` and one folder per job,
``<job-id>/result.png`` + ``result.json``. The sidecar is written last (atomically), so a job is
finished exactly when its ``result.json`` exists: a killed run loses nothing finished and leaves
no half-written file, and a re-run redoes only what is missing.
"""
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import yaml

from . import files, images, memory, sharding, tasks, workers
from . import weights as weights_module
from .config import Experiment, to_dict
from .errors import FmiError


@dataclass(frozen=True)
class Job:
    """One task of an experiment, with the id that names its folder."""

    id: str
    panel: int
    task: tasks.Task

    @property
    def labels(self) -> Dict[str, object]:
        t = self.task
        if isinstance(t, tasks.Inversion):
            return {"content": t.content, "mode": t.mode, "layer": "+".join(t.layers), "filter": t.filter,
                    "style": t.style, "seed": t.seed}
        return {"content": t.content, "mode": t.mode, "layer": t.content_layer, "filter": None,
                "style": t.style, "seed": t.seed}


def job_id(task: tasks.Task, weights_sha256: str) -> str:
    """A hash of everything that affects the result (the task and the weights), 12 hex digits."""
    blob = json.dumps({"kind": type(task).__name__, "task": asdict(task), "weights": weights_sha256},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def expand(exp: Experiment, weights_sha256: str) -> List[Job]:
    """Every job of every panel, in a stable order."""
    jobs = []
    common = dict(size=exp.size, pooling=exp.pooling, remove_noise=exp.remove_noise)
    for index, p in enumerate(exp.panels):
        for content in p.contents:
            if p.mode in ("gram", "pmci"):
                made = [tasks.StyleTransfer(exp.image(content), exp.image(style), tuple(p.style_layers), p.mode,
                                            p.content_layer, p.content_weight, p.style_weight, seed,
                                            optimise=exp.settings(style=True), **common)
                        for style in p.styles for seed in p.seeds]
            else:
                filters = p.filters if p.mode == "feature_map" else (None,)
                styles = p.styles if p.mode == "purposeful" else (None,)
                made = [tasks.Inversion(exp.image(content), (layer,), p.mode, k,
                                        exp.image(style) if style else None, seed,
                                        optimise=exp.settings(style=False), **common)
                        for layer in p.layers for k in filters for style in styles for seed in p.seeds]
            jobs += [Job(job_id(t, weights_sha256), index, t) for t in made]
    return list({job.id: job for job in jobs}.values())  # a job listed twice runs once


def folder(exp: Experiment, runs: Path) -> Path:
    return Path(runs) / exp.name


def is_done(root: Path, job: Job) -> bool:
    return (root / job.id / "result.json").is_file()


def environment(w: weights_module.Weights, device: str) -> Dict[str, object]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"versions": tasks.versions(), "device": device, "weights": w.describe(), "git_commit": commit,
            "platform": platform.platform(), "argv": sys.argv}


def group(jobs: List[Job], n_workers: int) -> List[List[Job]]:
    """Jobs that share an executor (kind, layers, content, size, pooling) travel together, in chunks
    small enough to keep every worker busy; a worker's Runner binds each graph once anyway."""
    by_key: Dict[tuple, List[Job]] = {}
    for job in jobs:
        t = job.task
        by_key.setdefault((t.mode, tasks.layers_of(t), t.content, t.size, t.pooling), []).append(job)
    chunk = max(1, -(-len(jobs) // (2 * max(1, n_workers))))
    return [g[i:i + chunk] for g in by_key.values() for i in range(0, len(g), chunk)]


def select_shard(jobs: List[Job], k: int, n: int) -> List[Job]:
    """Shard k of n of the job list, balanced by expected cost (see sharding.shard)."""
    costs = {job.id: sharding.cost(tasks.layers_of(job.task), job.task.size, job.task.size,
                                   job.task.optimise.max_iterations) for job in jobs}
    chosen = set(sharding.shard(costs, k, n))
    return [job for job in jobs if job.id in chosen]


def batches(jobs: List[Job], runner: "tasks.Runner", batch_size: int = 0, max_memory: float = 4096.0):
    """Split jobs into batches that share an executor, each as large as ``batch_size`` (0: as many as
    fit ``max_memory``, at most 8); yields (jobs, their network inputs)."""
    cache: Dict[tuple, tuple] = {}
    by_key: Dict[tuple, list] = {}
    for job in jobs:
        t = job.task
        source = (t.content, t.style, t.size)
        if source not in cache:
            cache[source] = runner.inputs(t)
        by_key.setdefault(runner.batch_key(t, cache[source][0].shape), []).append((job, cache[source]))
    for key, items in by_key.items():
        b = batch_size or memory.batch_size(key[0], (1,) + key[1], max_memory)
        for i in range(0, len(items), b):
            chunk = items[i:i + b]
            yield [job for job, _ in chunk], [inputs for _, inputs in chunk]


def execute(jobs: List[Job], inputs: list, runner: "tasks.Runner", root: Path, experiment: str,
            worker: str = "") -> List[Dict[str, object]]:
    """Run one batch of jobs; write each picture, then its sidecar (the mark of a finished job)."""
    start = time.perf_counter()
    results = runner.run_batch([job.task for job in jobs], inputs)
    seconds = time.perf_counter() - start
    summaries = []
    for job, result in zip(jobs, results):
        (root / job.id / "failed.json").unlink(missing_ok=True)
        tasks.save(root / job.id / "result.png", job.task, result, runner.weights, runner.device,
                   job=job.id, experiment=experiment, labels=job.labels, worker=worker, pid=os.getpid())
        summaries.append({"seconds": seconds, "iterations": result.outcome.iterations, "batch_size": len(jobs),
                          "stop_reason": result.outcome.stop_reason, "code_error": result.metrics["code_error"],
                          "seconds_per_iteration": result.outcome.seconds_per_iteration})
    return summaries


def over_budget(jobs: List[Job], max_memory: float) -> Dict[str, str]:
    """Jobs that cannot fit ``max_memory`` even alone, with the one-line reason (checked before any run)."""
    shapes: Dict[tuple, tuple] = {}
    problems = {}
    for job in jobs:
        t = job.task
        if (t.content, t.size) not in shapes:
            shapes[t.content, t.size] = images.resize_long_edge(images.read(t.content), t.size).shape
        h, w = shapes[t.content, t.size][:2]
        try:
            memory.batch_size(tasks.Runner.terms(t, h, w), (1, 3, h, w), max_memory, what=f"job {job.id}")
        except FmiError as e:
            problems[job.id] = str(e)
    return problems


def run(exp: Experiment, runs: Path = Path("runs"), dry_run: bool = False, devices: Optional[List[str]] = None,
        shard: Optional[Tuple[int, int]] = None, log: Callable[[str], None] = print) -> Optional[workers.Report]:
    """Run every unfinished job (of one shard) on one worker per device, then assemble the figure if
    every job is done. Finished jobs are skipped."""
    w = weights_module.resolve(exp.weights)
    jobs = expand(exp, w.sha256)
    if shard:
        jobs = select_shard(jobs, *shard)
    root = folder(exp, runs)
    todo = [job for job in jobs if not is_done(root, job)]
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    if dry_run:
        for job in jobs:
            state = "todo" if job in todo else "done"
            log(f"{job.id}  {state}  " + "  ".join(f"{k}={v}" for k, v in job.labels.items() if v is not None))
        log(f"{len(jobs)} jobs{where}, {len(todo)} to run")
        return None
    devices = devices or sharding.parse_devices(exp.device)
    files.write_bytes(root / "config.resolved.yaml", yaml.safe_dump(to_dict(exp), sort_keys=False).encode())
    env_name = f"environment.shard-{shard[0]}-of-{shard[1]}.json" if shard else "environment.json"
    files.write_json(root / env_name, environment(w, ",".join(devices)))
    if w.is_random:
        log(f"note: untrained weights ({w.source}); pretrained ones: fmi-mx weights fetch")
    if not todo:
        log(f"all {len(jobs)} jobs{where} are finished")
        figure(exp, runs, log, w)
        return workers.Report()
    too_big = over_budget(todo, exp.max_memory)
    for job_id, why in too_big.items():
        log(f"{job_id} FAILED: {why}")
    todo = [job for job in todo if job.id not in too_big]
    progress = _progress(len(todo))

    def on_done(job_id: str, summary: Optional[dict]) -> None:
        if summary:
            errors = ", ".join(f"{k} {v:.4f}" for k, v in summary["code_error"].items())
            batch = f" (batch of {summary['batch_size']})" if summary["batch_size"] > 1 else ""
            progress.write(f"{job_id} done in {summary['seconds']:.1f} s{batch}, {summary['iterations']} iterations "
                           f"({summary['stop_reason']}), relative code error {errors}")
        progress.update(1)

    report = workers.run_pool(group(todo, len(devices)), devices, root, exp.name, exp.weights, progress.write, on_done,
                              batch_size=exp.batch_size, max_memory=exp.max_memory)
    progress.close()
    report.failed.update(too_big)
    for job_id, why in report.failed.items():
        files.write_json(root / job_id / "failed.json", {"job": job_id, "error": why})
    for wid, stats in sorted(report.workers.items()):
        if stats["mxnet_imported_early"]:
            log(f"warning: worker {wid} imported MXNet before choosing its device (harmless on a CPU)")
        per_iteration = stats["seconds_per_iteration"]
        log(f"worker {wid} on {stats['device']}: {stats['jobs']} jobs, "
            f"{per_iteration * 1e3:.1f} ms/iteration, peak memory {stats['peak_memory_mb']:.0f} MB"
            if per_iteration else f"worker {wid} on {stats['device']}: no jobs")
    figure(exp, runs, log, w)
    return report


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="job", file=sys.stderr, disable=total == 0 or None)


def figure(exp: Experiment, runs: Path = Path("runs"), log: Callable[[str], None] = print,
           w: Optional[weights_module.Weights] = None) -> Optional[Path]:
    """Assemble the figure and its table (CSV + JSON) from the finished jobs; name the missing ones."""
    from . import figures

    w = w or weights_module.resolve(exp.weights)
    jobs = expand(exp, w.sha256)
    root = folder(exp, runs)
    records = {job.id: json.loads((root / job.id / "result.json").read_text()) for job in jobs if is_done(root, job)}
    missing = [job.id for job in jobs if job.id not in records]
    rows = [figures.table_row(records[job.id]) for job in jobs if job.id in records]
    stem = exp.figure if exp.figure != "none" else "table"
    files.write_json(root / f"{stem}.json", rows)
    files.write_bytes(root / f"{stem}.csv", _csv(rows, figures.TABLE_COLUMNS))
    if missing:
        log(f"no figure yet: {len(missing)} of {len(jobs)} jobs are not finished ({', '.join(missing[:8])}"
            f"{', ...' if len(missing) > 8 else ''}); run `fmi-mx run` again (or wait for the other shards)")
        return None
    if exp.figure == "none":
        return None
    labelled = [(job.labels, images.read(root / job.id / "result.png") if job.id in records else None)
                for job in jobs]
    shape = next(p for _, p in labelled if p is not None).shape[:2]
    styles = {job.labels["style"]: images.resize(images.read(job.labels["style"]), shape).astype("uint8")
              for job in jobs if job.labels["style"]}
    title = f"{exp.name}: {'untrained ' if w.is_random else ''}VGG-19 ({w.source})"
    path = images.write(root / f"{exp.figure}.png", figures.assemble(exp.figure, labelled, styles, title))
    log(f"{path}: the figure ({len(records)} of {len(jobs)} panels)")
    return path


def _csv(rows: List[dict], columns) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()
