"""How tasks are run, as opposed to what they compute: the weights, the device, the memory budget, the
batch size and the snapshots. None of these is part of a job's identity: changing them re-runs nothing
(the weights enter ids by their sha256, not by where they lie)."""
import os
from dataclasses import dataclass

from ...backend import devices
from ...errors import FmiError
from . import memory
from ..options import option
from ..rules import whole


def _device(text: str) -> None:
    for name in str(text).split(","):
        devices.parse(name)


def _weights(value) -> None:
    """A params file (a path, as text or ``os.PathLike``), ``random``/``random:SEED``, or loaded ``Weights``."""
    from ..network.weights import Weights

    if isinstance(value, Weights) or (isinstance(value, os.PathLike) and os.fspath(value)):
        return
    if not isinstance(value, str) or not value:
        raise FmiError(f"weights {value!r}: expected a params file path, 'random' or 'random:SEED' (untrained), or "
                       "loaded Weights; leave weights out for models/<network>.params")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Options of the command line, the API and configs that change how, not what."""

    weights: str = option("", "params file (default: models/<network>.params), or random[:SEED] (untrained)",
                          rule=_weights, result=False)
    device: str = option(devices.DEFAULT, "cpu, gpu or gpu:N (a config: a comma-separated list, one worker each)",
                         rule=_device, result=False)
    max_memory: float = option(memory.DEFAULT_MAX_MEMORY, "MB one worker's graphs and weights may hold together, "
                               "estimated before binding", rule=memory.check_budget, result=False)
    batch_size: int = option(0, "jobs per graph (one forward/backward for all); 0: as many as fit max_memory, at "
                             "most 8", rule=whole(0, note="0: automatic"), flag=None, result=False, api=False)
    continuous: bool = option(False, "continuous batching: a job that stops hands its slot in the batch to the "
                              "next at once, so no job waits for the slowest (sgd and adam)", result=False, api=False)
    save_every: int = option(0, "write the image every N updates into <out>.snapshots/ (0: off)",
                             rule=whole(0, note="0: off"), result=False)
    animate: bool = option(False, "with save_every: also an animated GIF of the snapshots", result=False, api=False)
