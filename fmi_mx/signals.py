"""Stopping on request, the same way in every command: SIGINT (Ctrl-C) and SIGTERM raise
``KeyboardInterrupt`` in the main process, and the request is remembered.

Python drops an exception raised while an object is being finalised ("Exception ignored in ...
__del__"), and MXNet's arrays are finalised all the time; so long loops call ``check()``, which raises
the request again, and the command line ends with status 130 after a request even if nothing else
noticed it. Worker processes of a sweep handle signals their own way (``sweep.pool``).
"""
import signal
from typing import Dict, List

_requested: List[int] = []


def _handler(signum, frame) -> None:
    _requested.append(signum)
    raise KeyboardInterrupt


def install() -> Dict[int, object]:
    """Handle SIGINT and SIGTERM as a request to stop; returns the handlers they had (for ``restore``).
    Outside the main thread, where Python lets no one set handlers, nothing changes."""
    try:
        return {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        return {}


def restore(previous: Dict[int, object]) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler)


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was requested (where a dropped one would be lost)."""
    if _requested:
        raise KeyboardInterrupt


def requested() -> bool:
    return bool(_requested)


def reset() -> None:
    """Forget requests (a new command in the same process)."""
    _requested.clear()
