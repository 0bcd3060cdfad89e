"""What a finished job left behind, and whether it can be trusted.

A job is finished when its sidecar ``result.json`` parses, names the job, and every file it lists is
there with the size and sha256 it recorded (sidecars written before files were listed: the picture
exists and decodes). Anything else is damage: the job runs again, and a line says why.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..core.image import images
from ..core.optimisation.loop import NON_FINITE
from ..errors import FmiError
from .. import files

SIDECAR = "result.json"


@dataclass(frozen=True)
class Examined:
    """A job's folder as found: its record if it can be trusted, else why not (both None: not run yet)."""

    record: Optional[dict] = None
    problem: Optional[str] = None

    @property
    def done(self) -> bool:
        return self.record is not None


def examine(folder: Path, job_id: str, need_raw: bool = False) -> Examined:
    """Check a job's folder cheaply: the sidecar parses and names the job; the files it lists match their
    recorded size and sha256 (a picture of an older sidecar, which lists none, must decode); with
    ``need_raw``, the image before denoising (``raw.png``) is there too."""
    sidecar = folder / SIDECAR
    if not sidecar.is_file():
        return Examined()
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return Examined(problem=f"{SIDECAR} does not parse")
    if not isinstance(record, dict):
        return Examined(problem=f"{SIDECAR} is not a job's record")
    if record.get("job") != job_id:
        return Examined(problem=f"{SIDECAR} belongs to job {record.get('job')!r}")
    listed = record.get("files")
    if not isinstance(listed, dict):
        listed = {"result.png": None, **({"raw.png": None} if need_raw else {})}
    if need_raw and "raw.png" not in listed:
        return Examined(problem="raw.png (the image before denoising, which the atlas scores) is missing")
    for name, expected in listed.items():
        problem = _file_problem(folder / name, expected)
        if problem:
            return Examined(problem=f"{name} {problem}")
    return Examined(record=record)


def _file_problem(path: Path, expected: Optional[dict]) -> Optional[str]:
    if not path.is_file():
        return "is missing"
    if not expected:
        try:
            images.check(str(path), decode=True)
        except FmiError:
            return "cannot be decoded"
        return None
    size = path.stat().st_size
    if size != expected.get("bytes"):
        return f"has {size} bytes, not the {expected.get('bytes')} its sidecar recorded"
    if files.sha256(path) != expected.get("sha256"):
        return "is not the file its sidecar recorded (sha256)"
    return None


def diverged(summary: dict) -> bool:
    """Did the optimisation turn non-finite (a sidecar or a job summary)?"""
    return summary.get("stop_reason") == NON_FINITE


def unprocessed(folder: Path):
    """A finished job's picture before the saved picture's denoising (which at small sizes erases the finer
    structure) when the job kept it, else its saved picture: RGB uint8."""
    raw = folder / "raw.png"
    return images.read(str(raw if raw.is_file() else folder / "result.png"))
