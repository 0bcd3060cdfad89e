"""Expand an experiment into jobs with stable ids, run the unfinished ones, keep the finished ones.

Layout: ``runs/<experiment>/config.resolved.yaml``, ``environment.json`` and one folder per job,
``<job-id>/result.png`` + ``result.json``. The sidecar is written last (atomically), so a job is
finished exactly when its ``result.json`` exists: a killed run loses nothing finished and leaves
no half-written file, and a re-run redoes only what is missing.
"""
import hashlib
import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import yaml

from . import files, images, tasks, weights as weights_module
from .config import Experiment, to_dict


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


def run(exp: Experiment, runs: Path = Path("runs"), dry_run: bool = False,
        log: Callable[[str], None] = print) -> List[Job]:
    """Run every unfinished job; return the jobs. Finished jobs (their result.json exists) are skipped."""
    w = weights_module.resolve(exp.weights)
    jobs = expand(exp, w.sha256)
    root = folder(exp, runs)
    todo = [job for job in jobs if not is_done(root, job)]
    if dry_run:
        for job in jobs:
            state = "todo" if job in todo else "done"
            log(f"{job.id}  {state}  " + "  ".join(f"{k}={v}" for k, v in job.labels.items() if v is not None))
        log(f"{len(jobs)} jobs, {len(todo)} to run")
        return jobs
    files.write_bytes(root / "config.resolved.yaml", yaml.safe_dump(to_dict(exp), sort_keys=False).encode())
    files.write_json(root / "environment.json", environment(w, exp.device))
    if w.is_random:
        log(f"note: untrained weights ({w.source}); pretrained ones: fmi-mx weights fetch")
    runner = tasks.Runner(w, exp.device)
    progress = _progress(len(todo))
    for job in todo:
        start = time.perf_counter()
        result = runner.run(job.task)
        out = root / job.id
        images.write(out / "result.png", result.image)
        files.write_json(out / "result.json", {"job": job.id, "experiment": exp.name, "labels": job.labels,
                                                **tasks.record(job.task, result, w, exp.device)})
        errors = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics["code_error"].items())
        progress.write(f"{job.id} done in {time.perf_counter() - start:.1f} s, {result.outcome.iterations} "
                       f"iterations ({result.outcome.stop_reason}), relative code error {errors}")
        progress.update(1)
    progress.close()
    return jobs


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="job", file=sys.stderr, disable=total == 0 or None)


def figure(exp: Experiment, runs: Path = Path("runs"), log: Callable[[str], None] = print) -> Optional[Path]:
    """Assemble the figure and its table (CSV + JSON) from the finished jobs; name the missing ones."""
    from . import figures

    w = weights_module.resolve(exp.weights)
    jobs = expand(exp, w.sha256)
    root = folder(exp, runs)
    records = {job.id: json.loads((root / job.id / "result.json").read_text()) for job in jobs if is_done(root, job)}
    missing = [job.id for job in jobs if job.id not in records]
    rows = [figures.table_row(records[job.id]) for job in jobs if job.id in records]
    stem = exp.figure if exp.figure != "none" else "table"
    files.write_json(root / f"{stem}.json", rows)
    files.write_bytes(root / f"{stem}.csv", _csv(rows, figures.TABLE_COLUMNS))
    if missing:
        log(f"{len(missing)} of {len(jobs)} jobs are not finished ({', '.join(missing[:8])}"
            f"{', ...' if len(missing) > 8 else ''}): the figure has blanks; run `fmi-mx run` again")
    if exp.figure == "none" or not records:
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
