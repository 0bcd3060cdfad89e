"""Device names (``cpu``, ``cpu:N``, ``gpu``, ``gpu:N``), parsed without importing MXNet."""
from typing import Tuple

from ..errors import FmiError

DEFAULT = "cpu"


def parse(device: str) -> Tuple[str, int]:
    """``gpu:1`` -> ("gpu", 1); anything else than cpu/gpu with an optional index is refused."""
    kind, _, index = str(device).strip().partition(":")
    if kind not in ("cpu", "gpu") or (index and not index.isdigit()):
        raise FmiError(f"unknown device '{device}': use cpu, gpu or gpu:N")
    return kind, int(index or 0)
