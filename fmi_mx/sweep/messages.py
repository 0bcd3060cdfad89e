"""What the parent and its workers say to each other over a pipe: one dataclass per message."""
from dataclasses import dataclass
from typing import Dict, Tuple


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of one run needs besides its device."""

    root: str
    experiment: str
    weights: str
    batch_size: int
    max_memory: float
    retry_diverged: bool = False
    keep_raw: bool = False  # also save each image before denoising (the atlas scores those)


@dataclass(frozen=True)
class Ready:
    """The worker wants a group of jobs (the parent answers with a list of jobs, or None: stop)."""

    worker: int


@dataclass(frozen=True)
class Started:
    worker: int
    jobs: Tuple[str, ...]


@dataclass(frozen=True)
class Done:
    worker: int
    job: str
    summary: Dict[str, object]


@dataclass(frozen=True)
class Failed:
    worker: int
    jobs: Tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Stats:
    """The worker's last words: device, jobs done, mean s/iteration, peak memory."""

    worker: int
    stats: Dict[str, object]


@dataclass(frozen=True)
class Fatal:
    """The worker could not set up (bad device, unreadable weights): the run stops with this line."""

    worker: int
    reason: str


@dataclass(frozen=True)
class Skipped:
    """Jobs another process runs (or has finished) meanwhile: this run leaves them."""

    worker: int
    jobs: Tuple[str, ...]


@dataclass(frozen=True)
class Stop:
    """Results cannot be written (disk full, permissions): the whole run stops with this line."""

    worker: int
    reason: str
