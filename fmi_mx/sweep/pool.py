"""Worker processes: one per device, started with ``spawn``, each binding its own executors and
taking groups of jobs from the parent until none is left.

A worker sees only its own GPU (CUDA_VISIBLE_DEVICES is set before it imports MXNet). A worker
that dies costs the jobs it was running (reported failed), never the sweep: the rest of its group
goes back to the queue and a replacement starts. SIGUSR1 (SLURM's warning before the time limit)
makes every worker finish its current jobs and stop; SIGTERM and Ctrl-C stop at once, which loses
no finished job because every output is written atomically.

This module imports no MXNet at the top: spawned children import it before setting their GPU.
"""
import collections
import multiprocessing as mp
import os
import resource
import signal
import sys
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Type

from ..errors import FmiError
from ..files import OutputError
from .messages import Done, Failed, Fatal, Ready, Skipped, Started, Stats, Stop, WorkerSpec
from .sharding import omp_threads, visible_gpu

STARTUP_FAILURES = 2  # a device whose worker dies this often before any job is given up


@dataclass
class Report:
    """What a pool run did: jobs done (with how often), failed (with why), unfinished, worker stats."""

    done: Dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    failed: Dict[str, str] = field(default_factory=dict)
    unfinished: List[str] = field(default_factory=list)
    workers: Dict[int, dict] = field(default_factory=dict)
    interrupted: bool = False
    diverged: List[str] = field(default_factory=list)  # finished, but the optimisation turned non-finite
    elsewhere: List[str] = field(default_factory=list)  # run (or finished) by another process meanwhile
    stopped: Optional[str] = None  # why the whole run stopped (results could not be written)


class Worker:
    """The child's side: set up the device, then run the groups the parent sends until it sends None.

    ``execute`` runs one batch; tests override it in a subclass to inject faults."""

    def __init__(self, wid: int, device: str, conn, spec: WorkerSpec):
        self.wid, self.device, self.conn, self.spec = wid, device, conn, spec
        self.finishing, self.runner, self.done, self.per_iteration = False, None, 0, []

    def start(self, gpu: Optional[str], threads: int) -> None:
        """Choose the device and threads before MXNet is imported, then serve."""
        early = "mxnet" in sys.modules  # would mean CUDA was set up before this worker chose its GPU
        if early and gpu is not None:
            self.conn.send(Fatal(self.wid, f"worker on {self.device}: MXNet was imported before it chose its GPU"))
            return
        if gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"], self.device = gpu, "gpu:0"
        # both: MXNet reads MXNET_OMP_MAX_THREADS first, and the parent's (its whole machine) was inherited
        os.environ["OMP_NUM_THREADS"] = os.environ["MXNET_OMP_MAX_THREADS"] = str(threads)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
        signal.signal(signal.SIGTERM, _exit)  # stopped by the parent: unwind, so no temporary file is left
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "finishing", True))
        _die_with_parent()
        try:
            from ..core.network import weights
            from ..core.run.engine import Runner

            self.runner = Runner(weights.resolve(self.spec.run.weights, self.spec.network), self.device,
                                 max_memory=self.spec.run.max_memory)
        except Exception as e:  # noqa: BLE001  (any set-up failure is reported as one line)
            self.conn.send(Fatal(self.wid, f"worker on {self.device}: {_line(e)}"))
            return
        self.serve(early)

    def serve(self, early: bool = False) -> None:
        while True:
            self.conn.send(Ready(self.wid))
            group = self.conn.recv()
            if group is None:
                break
            self.run_group(group)
        self.conn.send(Stats(self.wid, {
            "device": self.device, "jobs": self.done, "mxnet_imported_early": early,
            "seconds_per_iteration": sum(self.per_iteration) / len(self.per_iteration) if self.done else None,
            "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "max_memory_mb": self.spec.run.max_memory, "graphs_peak_mb": self.runner.graphs.peak / 2 ** 20,
            "graphs_released": self.runner.graphs.released}))

    def run_group(self, group: list) -> None:
        from . import jobs

        root = Path(self.spec.root)
        try:
            for batch, inputs in jobs.batches(group, self.runner, self.spec.run.batch_size, self.spec.run.max_memory,
                                              self.spec.run.continuous, self.spec.run.save_every):
                if self.finishing:
                    continue  # unfinished: the next run does them
                with jobs.claims(root, batch, self.spec.retry_diverged, self.spec.keep_raw) as (ours, theirs):
                    if theirs:
                        self.conn.send(Skipped(self.wid, tuple(job.id for job in theirs)))
                    if ours:
                        self.run_batch(ours, [x for job, x in zip(batch, inputs) if job in ours])
        except OutputError as e:
            self.finishing = True
            self.conn.send(Stop(self.wid, str(e)))
        except Exception as e:  # noqa: BLE001  (e.g. an image that became unreadable)
            self.conn.send(Failed(self.wid, tuple(job.id for job in group), _line(e)))

    def run_batch(self, batch: list, inputs: list) -> None:
        ids = tuple(job.id for job in batch)
        self.conn.send(Started(self.wid, ids))
        try:
            self.execute(batch, inputs)
        except OutputError:
            raise
        except Exception as e:  # noqa: BLE001  (a failing batch must not end the worker)
            self.conn.send(Failed(self.wid, ids, _line(e)))

    def execute(self, batch: list, inputs: list) -> None:
        """Run one batch; every job is reported done as soon as it is saved."""
        from . import jobs

        def saved(job, summary: dict) -> None:
            self.done += 1
            self.per_iteration.append(summary["seconds_per_iteration"])
            self.conn.send(Done(self.wid, job.id, summary))

        jobs.execute(batch, inputs, self.runner, Path(self.spec.root), self.spec.experiment,
                     f"{self.wid}@{self.device}", on_saved=saved, spec=self.spec)


def worker_main(worker_class: Type[Worker], wid: int, device: str, gpu: Optional[str], threads: int, conn,
                spec: WorkerSpec) -> None:
    """The spawned process's entry point."""
    worker_class(wid, device, conn, spec).start(gpu, threads)


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _line(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return text if isinstance(e, FmiError) else f"{type(e).__name__}: {text}"


@dataclass
class _Child:
    """The parent's view of one worker."""

    process: mp.Process
    conn: object
    device: str
    group: list = field(default_factory=list)
    current: List[str] = field(default_factory=list)
    closing: bool = False
    finished: int = 0


class Pool:
    """Runs groups of jobs on one worker per device; see the module docstring for failures and signals."""

    def __init__(self, devices: Sequence[str], spec: WorkerSpec, log: Callable[[str], None] = print,
                 on_done: Callable[[str, Optional[dict]], None] = lambda *_: None,
                 worker_class: Type[Worker] = Worker):
        self.devices, self.spec, self.log, self.on_done = list(devices), spec, log, on_done
        self.worker_class = worker_class
        self.ctx = mp.get_context("spawn")
        self.threads = omp_threads(len(self.devices))
        self.report, self.children = Report(), {}
        self.pending: collections.deque = collections.deque()
        self.startup_failures: Dict[str, int] = collections.defaultdict(int)
        self.finishing, self.last_id = False, -1
        self.handlers = {Ready: self._on_ready, Started: self._on_started, Done: self._on_done,
                         Failed: self._on_failed, Stats: self._on_stats, Fatal: self._on_fatal,
                         Skipped: self._on_skipped, Stop: self._on_stop}

    def run(self, groups: Sequence[list]) -> Report:
        self.pending.extend(list(g) for g in groups if g)
        previous = {s: signal.signal(s, h) for s, h in ((signal.SIGUSR1, self._finish), (signal.SIGTERM, _interrupt))}
        try:
            for device in self.devices:
                self._start(device)
            while self.children:
                self._poll()
        except (KeyboardInterrupt, _StopRun):
            self.report.interrupted = True
        finally:
            _stop(self.children.values())
            for s, h in previous.items():
                signal.signal(s, h)
        report = self.report
        report.interrupted = report.interrupted or self.finishing or report.stopped is not None
        ran = set(report.done) | set(report.failed) | set(report.elsewhere)
        report.unfinished = [j.id for g in groups for j in g if j.id not in ran]
        if not report.interrupted and report.unfinished and self.startup_failures:
            self.log(f"no worker could start on {', '.join(self.startup_failures)}; "
                     f"{len(report.unfinished)} jobs not run")
        return report

    def _start(self, device: str) -> None:
        # a Pipe, not a Queue: send() has written before it returns, so a worker killed right after
        # saying which job it started has said it
        self.last_id += 1
        ours, theirs = self.ctx.Pipe()
        process = self.ctx.Process(target=worker_main, name=f"fmi-mx worker {self.last_id} ({device})", daemon=True,
                                   args=(self.worker_class, self.last_id, device, visible_gpu(device), self.threads,
                                         theirs, self.spec))
        process.start()
        theirs.close()
        self.children[self.last_id] = _Child(process, ours, device)

    def _poll(self) -> None:
        for conn in wait([c.conn for c in self.children.values()], timeout=1.0):
            wid = next(i for i, c in self.children.items() if c.conn is conn)
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the worker is gone and has said all it will say
                self._died(wid)
                continue
            self.handlers[type(message)](self.children[wid], message)

    def _died(self, wid: int) -> None:
        child = self.children.pop(wid)
        child.process.join()
        if child.closing and child.process.exitcode == 0:
            return
        code = child.process.exitcode or 0
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        self._fail(child.current, f"worker {wid} on {child.device} died ({how}) during this job")
        if not child.current and child.finished == 0:
            self.startup_failures[child.device] += 1
        rest = [j for j in child.group if j.id not in self.report.done and j.id not in self.report.failed]
        if rest:
            self.pending.appendleft(rest)
        if self.pending and not self.finishing and self.startup_failures[child.device] < STARTUP_FAILURES:
            self._start(child.device)

    def _fail(self, job_ids, reason: str) -> None:
        for job_id in job_ids:
            self.report.failed[job_id] = reason
            self.on_done(job_id, None)
            self.log(f"{job_id} FAILED: {reason}")

    def _on_ready(self, child: _Child, message: Ready) -> None:
        child.current, child.group = [], []
        if self.pending and not self.finishing:
            child.group = self.pending.popleft()
            child.conn.send(child.group)
        else:
            child.closing = True
            child.conn.send(None)

    def _on_started(self, child: _Child, message: Started) -> None:
        child.current = list(message.jobs)

    def _on_done(self, child: _Child, message: Done) -> None:
        self.report.done[message.job] += 1
        child.current.remove(message.job)
        child.finished += 1
        self.on_done(message.job, message.summary)

    def _on_skipped(self, child: _Child, message: Skipped) -> None:
        self.report.elsewhere.extend(message.jobs)
        for job_id in message.jobs:
            self.on_done(job_id, None)

    def _on_stop(self, child: _Child, message: Stop) -> None:
        self.report.stopped = message.reason
        raise _StopRun  # every worker stops now; finished jobs are kept

    def _on_failed(self, child: _Child, message: Failed) -> None:
        self._fail([i for i in message.jobs if i not in self.report.done], message.reason)
        child.current = []

    def _on_stats(self, child: _Child, message: Stats) -> None:
        self.report.workers[message.worker] = message.stats

    def _on_fatal(self, child: _Child, message: Fatal) -> None:
        raise FmiError(message.reason)

    def _finish(self, *_) -> None:
        """SIGUSR1: workers finish their current jobs and start no new ones."""
        self.finishing = True
        for child in self.children.values():
            if child.process.is_alive():
                os.kill(child.process.pid, signal.SIGUSR1)


class _StopRun(Exception):
    """A worker could not write results: the pool stops every worker."""


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _exit(*_) -> None:
    raise SystemExit(143)


def _stop(children) -> None:
    children = list(children)
    for child in children:
        if child.process.is_alive():
            child.process.terminate()
    for child in children:
        child.process.join(10)
