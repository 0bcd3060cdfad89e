"""Worker processes: one per device, started with ``spawn``, each binding its own executors and
taking groups of jobs from the parent until none is left.

A worker sees only its own GPU (CUDA_VISIBLE_DEVICES is set before it imports MXNet). A worker
that dies costs the job it was running (reported failed), never the sweep: the rest of its group
goes back to the queue and a replacement starts. SIGUSR1 (SLURM's warning before the time limit)
makes every worker finish its current job and stop; SIGTERM and Ctrl-C stop at once, which loses
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
from typing import Callable, Dict, List, Optional, Sequence

from .errors import FmiError
from .sharding import omp_threads, visible_gpu

#: testing hook: "kill:<job-id>" makes the worker that starts that job kill itself (SIGKILL)
FAULT_ENV = "FMI_MX_FAULT"
STARTUP_FAILURES = 2  # a device whose worker dies this often before any job is given up


@dataclass
class Report:
    """What a pool run did: jobs done (with how often), failed (with why), unfinished, worker stats."""

    done: Dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    failed: Dict[str, str] = field(default_factory=dict)
    unfinished: List[str] = field(default_factory=list)
    workers: Dict[int, dict] = field(default_factory=dict)
    interrupted: bool = False


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_main(wid: int, device: str, gpu: Optional[str], threads: int, conn,
                root: str, experiment: str, weights_spec: str, batch_size: int = 0, max_memory: float = 4096.0
                ) -> None:
    """A worker's life: set up its device, then run the groups the parent sends until it sends None."""
    early = "mxnet" in sys.modules  # would mean CUDA was set up before this worker chose its GPU
    if early and gpu is not None:
        conn.send(("fatal", wid, f"worker on {device}: MXNet was imported before the worker chose its GPU"))
        return
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
        device = "gpu:0"
    # both: MXNet reads MXNET_OMP_MAX_THREADS first, and the parent's (its whole machine) was inherited
    os.environ["OMP_NUM_THREADS"] = os.environ["MXNET_OMP_MAX_THREADS"] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
    finish = {"now": False}
    signal.signal(signal.SIGUSR1, lambda *_: finish.__setitem__("now", True))
    _die_with_parent()
    try:
        from . import experiments, tasks, weights  # MXNet is imported here, after the environment is set

        runner = tasks.Runner(weights.resolve(weights_spec), device, max_memory=max_memory)
    except Exception as e:  # noqa: BLE001  (any set-up failure is reported as one line)
        conn.send(("fatal", wid, f"worker on {device}: {_line(e)}"))
        return
    fault = os.environ.get(FAULT_ENV, "")
    done, per_iteration = 0, []
    while True:
        conn.send(("ready", wid))
        group = conn.recv()
        if group is None:
            break
        try:
            for jobs, inputs in experiments.batches(group, runner, batch_size, max_memory):
                ids = [job.id for job in jobs]
                if finish["now"]:
                    continue  # unfinished: the next run does them
                conn.send(("start", wid, ids))
                if any(fault == f"kill:{i}" for i in ids):
                    os.kill(os.getpid(), signal.SIGKILL)
                try:
                    summaries = experiments.execute(jobs, inputs, runner, Path(root), experiment, f"{wid}@{device}")
                except Exception as e:  # noqa: BLE001  (a failing batch must not end the worker)
                    conn.send(("failed", wid, ids, _line(e)))
                    continue
                for job_id, summary in zip(ids, summaries):
                    done += 1
                    per_iteration.append(summary["seconds_per_iteration"])
                    conn.send(("done", wid, job_id, summary))
        except Exception as e:  # noqa: BLE001  (e.g. an image that became unreadable)
            conn.send(("failed", wid, [job.id for job in group], _line(e)))
    conn.send(("stats", wid, {"device": device, "jobs": done, "mxnet_imported_early": early,
                               "seconds_per_iteration": sum(per_iteration) / len(per_iteration) if done else None,
                               "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _line(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return text if isinstance(e, FmiError) else f"{type(e).__name__}: {text}"


def _stop(workers) -> None:
    workers = list(workers)
    for w in workers:
        if w.process.is_alive():
            w.process.terminate()
    for w in workers:
        w.process.join(10)


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    device: str
    group: list = field(default_factory=list)
    current: List[str] = field(default_factory=list)
    closing: bool = False
    finished: int = 0


def run_pool(groups: Sequence[list], devices: Sequence[str], root: Path, experiment: str, weights_spec: str,
             log: Callable[[str], None] = print, on_done: Callable[[str, Optional[dict]], None] = lambda *_: None,
             batch_size: int = 0, max_memory: float = 4096.0) -> Report:
    """Run the groups on one worker per device; see the module docstring for failures and signals."""
    ctx = mp.get_context("spawn")
    pending = collections.deque(list(g) for g in groups if g)
    report, workers = Report(), {}
    threads = omp_threads(len(devices))
    startup_failures: Dict[str, int] = collections.defaultdict(int)
    state = {"finish": False, "last_id": -1}

    def start(device: str) -> None:
        # a Pipe, not a Queue: send() has written before it returns, so a worker killed right after
        # saying which job it started has said it
        wid = state["last_id"] = state["last_id"] + 1
        ours, theirs = ctx.Pipe()
        process = ctx.Process(target=worker_main, name=f"fmi-mx worker {wid} ({device})", daemon=True,
                              args=(wid, device, visible_gpu(device), threads, theirs, str(root),
                                    experiment, weights_spec, batch_size, max_memory))
        process.start()
        theirs.close()
        workers[wid] = _Worker(process, ours, device)

    def died(wid: int) -> None:
        w = workers.pop(wid)
        w.process.join()
        if w.closing and w.process.exitcode == 0:
            return
        code = w.process.exitcode or 0
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        for job_id in w.current:
            report.failed[job_id] = f"worker {wid} on {w.device} died ({how}) during this job"
            on_done(job_id, None)
            log(f"{job_id} FAILED: {report.failed[job_id]}")
        if not w.current and w.finished == 0:
            startup_failures[w.device] += 1
        rest = [j for j in w.group if j.id not in report.done and j.id not in report.failed]
        if rest:
            pending.appendleft(rest)
        if pending and not state["finish"] and startup_failures[w.device] < STARTUP_FAILURES:
            start(w.device)

    def handle(wid: int, message: tuple) -> None:
        w, kind = workers[wid], message[0]
        if kind == "fatal":
            raise FmiError(message[2])
        if kind == "ready":
            w.current, w.group = [], []
            if pending and not state["finish"]:
                w.group = pending.popleft()
                w.conn.send(w.group)
            else:
                w.closing = True
                w.conn.send(None)
        elif kind == "start":
            w.current = list(message[2])
        elif kind == "done":
            report.done[message[2]] += 1
            w.current.remove(message[2])
            w.finished += 1
            on_done(message[2], message[3])
        elif kind == "failed":
            for job_id in (i for i in message[2] if i not in report.done):
                report.failed[job_id] = message[3]
                on_done(job_id, None)
                log(f"{job_id} FAILED: {message[3]}")
            w.current = []
        elif kind == "stats":
            report.workers[wid] = message[2]

    def on_usr1(*_):
        state["finish"] = True
        for w in workers.values():
            if w.process.is_alive():
                os.kill(w.process.pid, signal.SIGUSR1)

    def on_term(*_):
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, h) for s, h in ((signal.SIGUSR1, on_usr1), (signal.SIGTERM, on_term))}
    try:
        for device in devices:
            start(device)
        while workers:
            for conn in wait([w.conn for w in workers.values()], timeout=1.0):
                wid = next(i for i, w in workers.items() if w.conn is conn)
                try:
                    message = conn.recv()
                except (EOFError, OSError):  # the worker is gone and has said all it will say
                    died(wid)
                    continue
                handle(wid, message)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        _stop(workers.values())
        for s, h in previous.items():
            signal.signal(s, h)
    report.interrupted = report.interrupted or state["finish"]
    ran = set(report.done) | set(report.failed)
    report.unfinished = [j.id for g in groups for j in g if j.id not in ran]
    if not report.interrupted and report.unfinished and startup_failures:
        log(f"no worker could start on {', '.join(startup_failures)}; {len(report.unfinished)} jobs not run")
    return report
