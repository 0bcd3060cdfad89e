"""What the parent and its workers say to each other over a pipe: one dataclass per message."""
from dataclasses import dataclass
from typing import Dict, Tuple

from ..core.run.running import RunOptions


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of one run needs besides its device: where and what it runs, and the run options
    (weights, memory, batches, snapshots, continuous batching) as declared once in ``RunOptions``."""

    root: str
    experiment: str
    network: str
    run: RunOptions = RunOptions()
    retry_diverged: bool = False
    keep_raw: bool = False  # also save each image before denoising (the atlas scores those)


@dataclass(frozen=True)
class Message:
    """Every message names the worker that sends it."""

    worker: int


@dataclass(frozen=True)
class Ready(Message):
    """The worker wants a group of jobs (the parent answers with a list of jobs, or None: stop)."""


@dataclass(frozen=True)
class Started(Message):
    """These jobs run now: if the worker dies, they failed."""

    jobs: Tuple[str, ...]


@dataclass(frozen=True)
class Done(Message):
    """A job is saved; its summary for the progress line and the report."""

    job: str
    summary: Dict[str, object]


@dataclass(frozen=True)
class Failed(Message):
    """These jobs failed (an exception in their batch); the worker goes on."""

    jobs: Tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Stats(Message):
    """The worker's last words: device, jobs done, mean s/iteration, peak memory."""

    stats: Dict[str, object]


@dataclass(frozen=True)
class Fatal(Message):
    """The worker could not set up (bad device, unreadable weights): the run stops with this line."""

    reason: str


@dataclass(frozen=True)
class Stop(Message):
    """Results cannot be written (disk full, permissions): the whole run stops with this line."""

    reason: str


@dataclass(frozen=True)
class Skipped(Message):
    """Jobs another process runs (or has finished) meanwhile: this run leaves them."""

    jobs: Tuple[str, ...]
