"""Running an experiment: its unfinished jobs on the worker pool, then its figure and table.

Layout: ``runs/<experiment>/config.resolved.yaml``, ``environment.json`` and one folder per job,
``<job-id>/result.png`` + ``result.json``. The sidecar is written last (atomically), so a job is
finished exactly when its ``result.json`` exists: a killed run loses nothing finished and leaves
no half-written file, and a re-run redoes only what is missing.
"""
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type

import yaml

from ..records import JobRecord
from .. import files
from ..backend.mx import context as check_device
from ..core.run import record
from ..core.options import declared
from ..core.run.running import RunOptions
from ..core.network import weights as weights_module
from ..errors import FmiError
from .config import RUNS, Experiment, to_dict
from .jobs import (Job, expand, folder, group, image_shapes, job_cost, migratable, migrate, over_budget,
                   select_shard)
from .messages import WorkerSpec
from .pool import Pool, Report, Worker
from . import kinds, results, sharding
from .results import diverged


def environment(w: weights_module.Weights, device: str) -> Dict[str, object]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"versions": record.versions(), "device": device, "weights": w.describe(), "git_commit": commit,
            "platform": platform.platform(), "argv": sys.argv}


def run(exp: Experiment, runs: Path = RUNS, dry_run: bool = False, devices: Optional[List[str]] = None,
        shard: Optional[Tuple[int, int]] = None, log: Callable[[str], None] = print,
        worker_class: Type[Worker] = Worker, retry_diverged: bool = False, rescore: bool = False) -> Optional[Report]:
    """Run every unfinished job (of one shard) on one worker per device, then assemble the figure if
    every job is done. Finished jobs are skipped (diverged ones too, unless ``retry_diverged``); a job
    whose results are damaged runs again, with a line saying why. Nothing is written before every check
    has passed. ``worker_class`` is a seam for tests."""
    w = weights_module.resolve(exp.weights, exp.network)
    every = expand(exp, w.sha256)
    jobs = select_shard(every, *shard) if shard else every
    root = folder(exp, runs)
    need_raw = kinds.of(exp.figure).keeps_raw
    if not dry_run and root.is_dir():
        moved = migrate(root, every, w.sha256)
        if moved:
            log(f"{len(moved)} finished job(s) renamed from the ids of an earlier fmi_mx (which named pictures by "
                "their path; now by their bytes)")
    found = {job.id: results.examine(root / job.id, job.id, need_raw) for job in jobs}
    todo = [job for job in jobs if not found[job.id].done or (retry_diverged and diverged(found[job.id].record))]
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    if dry_run:
        _list(jobs, todo, where, log, w, migratable(root, every, w.sha256))
        return None
    devices = devices or sharding.parse_devices(exp.device)
    for device in devices:
        check_device(device)
    shapes = image_shapes(todo)
    _refuse_over_budget(todo, exp.max_memory, shapes)
    files.write_bytes(root / "config.resolved.yaml", yaml.safe_dump(to_dict(exp), sort_keys=False).encode())
    env_name = f"environment.shard-{shard[0]}-of-{shard[1]}.json" if shard else "environment.json"
    files.write_json(root / env_name, environment(w, ",".join(devices)))
    if w.is_random:
        log(f"note: untrained weights ({w.source}); pretrained ones: fmi-mx weights fetch")
    for job in todo:
        if found[job.id].problem:
            log(f"{job.id} runs again: its {found[job.id].problem}")
    if not todo:
        log(f"all {len(jobs)} jobs{where} are finished")
        report = Report()
    else:
        report = _run_pool(exp, todo, devices, root, log, worker_class, retry_diverged, shapes)
    records = finished(root, jobs if report.stopped else every, need_raw)  # each sidecar read once
    report.diverged = [job.id for job in jobs if job.id in records and records[job.id].diverged]
    if not report.stopped and not report.interrupted:  # stopped (a full disk, Ctrl-C): nothing more
        _assemble(exp, root, every, records, w, log, rescore)
    return report


def _refuse_over_budget(todo: List[Job], max_memory: float, shapes) -> None:
    """Jobs that cannot fit ``max_memory`` even alone stop the run before it starts, in one line."""
    too_big = over_budget(todo, max_memory, shapes)
    if too_big:
        why = next(iter(too_big.values()))
        others = f" (and {len(too_big) - 1} more)" if len(too_big) > 1 else ""
        raise FmiError(f"{why}{others}; raise max_memory or make the images smaller")


def _list(jobs: List[Job], todo: List[Job], where: str, log: Callable[[str], None],
          w: weights_module.Weights, moving: Dict[str, str]) -> None:
    """The dry run's listing: each job done, to run, or found in an older folder (``moving``: renamed, not run)."""
    todo = [job for job in todo if job.id not in moving]
    for job in jobs:
        state = "todo" if job in todo else "moves" if job.id in moving else "done"
        log(f"{job.id}  {state}  " + "  ".join(f"{k}={v}" for k, v in job.labels.items() if v is not None))
    flops = sum(job_cost(job) for job in todo) * 4  # multiply-adds -> FLOPs, forward and backward
    found = f", {len(moving)} finished in folders of an earlier fmi_mx (renamed, not run)" if moving else ""
    log(f"{len(jobs)} jobs{where} on {w.title} ({w.source}), {len(todo)} to run{found}; expected cost at most {flops / 1e15:.2f} PFLOP of convolutions "
        f"(every job running max_iterations): {flops / 1e12 / 3600:.1f} h at 1 TFLOP/s sustained, "
        f"{flops / 0.15e12 / 3600:.1f} h at 150 GFLOP/s (2 CPU cores)")


def _run_pool(exp: Experiment, todo: List[Job], devices: List[str], root: Path, log: Callable[[str], None],
              worker_class: Type[Worker], retry_diverged: bool, shapes) -> Report:
    """The jobs on the pool; failures written to ``failed.json``."""
    progress = _progress(len(todo))

    def on_done(job_id: str, summary: Optional[dict]) -> None:
        if summary:
            errors = ", ".join(f"{k} {v:.4f}" for k, v in summary["code_error"].items())
            batch = f" (batch of {summary['batch_size']})" if summary["batch_size"] > 1 else ""
            progress.write(f"{job_id} done in {summary['seconds']:.1f} s{batch}, {summary['iterations']} iterations "
                           f"({summary['stop_reason']}), relative code error {errors}")
        progress.update(1)

    run = RunOptions(**{d.name: getattr(exp, d.name) for d in declared(RunOptions)})
    spec = WorkerSpec(root=str(root), experiment=exp.name, network=exp.network, run=run,
                      retry_diverged=retry_diverged, keep_raw=kinds.keeps_raw(exp))
    report = Pool(devices, spec, progress.write, on_done, worker_class).run(group(todo, len(devices), shapes))
    progress.close()
    for job_id, why in report.failed.items():
        try:
            files.write_json(root / job_id / "failed.json", {"job": job_id, "error": why})
        except files.OutputError as e:
            log(f"{job_id} FAILED: {why} ({e})")
    for wid, stats in sorted(report.workers.items()):
        if stats["mxnet_imported_early"]:
            log(f"warning: worker {wid} imported MXNet before choosing its device (harmless on a CPU)")
        per_iteration = stats["seconds_per_iteration"]
        log(f"worker {wid} on {stats['device']}: {stats['jobs']} jobs, "
            f"{per_iteration * 1e3:.1f} ms/iteration, peak memory {stats['peak_memory_mb']:.0f} MB resident "
            f"(budget {stats['max_memory_mb']:.0f} MB; graphs and weights at most "
            f"{stats['graphs_peak_mb']:.0f} MB by the estimate, {stats['graphs_released']} released)"
            if per_iteration else f"worker {wid} on {stats['device']}: no jobs")
    return report


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="job", file=sys.stderr, disable=total == 0 or None)


def figure(exp: Experiment, runs: Path = RUNS, log: Callable[[str], None] = print,
           w: Optional[weights_module.Weights] = None, rescore: bool = False,
           formats: Sequence[str] = ("png", "pdf")) -> Optional[Path]:
    """Assemble the figure (or the atlas) and its table (CSV + JSON) from the finished jobs; name the
    missing ones."""
    w = w or weights_module.resolve(exp.weights, exp.network)
    jobs = expand(exp, w.sha256)
    root = folder(exp, runs)
    if root.is_dir():
        migrate(root, jobs, w.sha256)
    return _assemble(exp, root, jobs, finished(root, jobs, kinds.of(exp.figure).keeps_raw), w, log, rescore, formats,
                     redraw=True)


def check(exp: Experiment, runs: Path = RUNS, log: Callable[[str], None] = print) -> int:
    """Report what a run folder holds without computing anything: each damaged job in a line, then how
    many jobs are finished, damaged and not run. Returns the number damaged (a damaged score cache counts)."""
    w = weights_module.resolve(exp.weights, exp.network)
    jobs = expand(exp, w.sha256)
    root = folder(exp, runs)
    kind = kinds.of(exp.figure)
    found = {job.id: results.examine(root / job.id, job.id, kind.keeps_raw) for job in jobs}
    damaged = {job_id: f.problem for job_id, f in found.items() if f.problem}
    for job_id, problem in damaged.items():
        log(f"{job_id}: {problem}")
    if kind.score_cache and (root / kind.score_cache).is_file():
        try:
            ok = isinstance(json.loads((root / kind.score_cache).read_text()), dict)
        except (OSError, ValueError, UnicodeDecodeError):
            ok = False
        if not ok:
            log(f"{root / kind.score_cache}: does not parse (the next run scores again)")
            damaged[kind.score_cache] = "does not parse"
    done = sum(f.done for f in found.values())
    moving = {job_id for job_id in migratable(root, jobs, w.sha256) if not found[job_id].done}
    renamed = f", {len(moving)} finished in folders of an earlier fmi_mx (the next run renames them)" if moving else ""
    log(f"{root}: {done} of {len(jobs)} jobs finished, {len(damaged)} damaged (the next run redoes them), "
        f"{len(jobs) - done - len(moving) - sum(1 for k in damaged if k in found)} not run{renamed}")
    return len(damaged)


def finished(root: Path, jobs: List[Job], need_raw: bool = False) -> Dict[str, JobRecord]:
    """The records of the finished, intact jobs, by job id."""
    found = {job.id: results.examine(root / job.id, job.id, need_raw) for job in jobs}
    return {job_id: JobRecord.read(f.record) for job_id, f in found.items() if f.done}


def finished_results(exp: Experiment, runs: Path = RUNS) -> List[Tuple[dict, Path, JobRecord]]:
    """(labels, picture, record) of every finished, intact job of a config, in the config's order."""
    w = weights_module.resolve(exp.weights, exp.network)
    jobs = expand(exp, w.sha256)
    root = folder(exp, runs)
    records = finished(root, jobs, kinds.of(exp.figure).keeps_raw) if root.is_dir() else {}
    return [(job.labels, root / job.id / "result.png", records[job.id]) for job in jobs if job.id in records]


def _assemble(exp: Experiment, root: Path, jobs: List[Job], records: Dict[str, JobRecord], w: weights_module.Weights,
              log: Callable[[str], None], rescore: bool = False, formats: Sequence[str] = ("png", "pdf"),
              redraw: bool = False) -> Optional[Path]:
    """The table of the finished jobs, then (once every job is finished) what the figure kind makes of them.
    A figure newer than every sidecar is kept as it is unless ``redraw``."""
    kind = kinds.of(exp.figure)
    missing = [job.id for job in jobs if job.id not in records]
    command = f"fmi-mx {kind.command}"
    if len(missing) == len(jobs):
        log(f"nothing to assemble yet: none of the {len(jobs)} jobs has finished; run `{command}` first")
        return None
    if missing:
        kinds.write_table(root / kind.stem, [records[job.id] for job in jobs if job.id in records])
        log(f"no figure yet: {len(missing)} of {len(jobs)} jobs are not finished ({', '.join(missing[:8])}"
            f"{', ...' if len(missing) > 8 else ''}); run `{command}` again (or wait for the other shards)")
        return None
    return kind.assemble(exp, root, jobs, records, w, log, rescore, formats, redraw)
