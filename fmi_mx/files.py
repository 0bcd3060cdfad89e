"""Writing results safely: atomic files (a reader sees the old file or the whole new one), a picture and
its sidecar written all or nothing, and checks that an output can be written before any compute.

An ``OSError`` while writing results (disk full, permissions) becomes ``OutputError``: one line, and
the CLI's exit status 1.
"""
import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from .errors import FmiError


class OutputError(FmiError):
    """Results could not be written (a runtime fault, not bad input)."""


@contextlib.contextmanager
def atomic(path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_temp(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_all(items: Sequence[Tuple[Path, bytes]]) -> None:
    """Write several files all or nothing: every temporary file first (where a full disk fails), then
    the renames in order, so the last file (a sidecar) appears last. On any failure none is left."""
    temps: List[Tuple[Path, Path]] = []
    renamed: List[Path] = []
    path = Path(items[0][0])
    try:
        for path, data in items:
            temps.append((_write_temp(Path(path), data), Path(path)))
        for tmp, path in temps:
            os.replace(tmp, path)
            renamed.append(path)
    except BaseException as e:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        for path in renamed:
            path.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        raise


def write_bytes(path, data: bytes) -> Path:
    write_all([(Path(path), data)])
    return Path(path)


def write_json(path, obj) -> Path:
    return write_bytes(path, json_bytes(obj))


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: str, what: str = "output") -> Path:
    """A file can be written at ``path``: not a folder, its folder exists or can be made, on a writable disk,
    and its name (and the temporary name it is written under first) fits the file system."""
    if not str(path).strip():
        raise FmiError(f"{what}: an empty path; name a file")
    longest, limit = len(_temporary(Path(path)).name.encode()), _name_max(Path(path).parent)
    if longest > limit:
        raise FmiError(f"{what} {path}: its name is too long ({longest} bytes written under a temporary name, "
                       f"at most {limit} here)")
    if str(path).endswith(("/", os.sep)) or Path(path).is_dir():
        raise FmiError(f"{what} {path} is a folder: name a file in it")
    check_folder(Path(path).parent, f"{what} {path}")
    return Path(path)


def _temporary(path: Path) -> Path:
    """The name a file is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` (or its nearest existing parent) takes."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        return os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_folder(folder, what: str = "output folder") -> Path:
    """``folder`` exists or can be made, and files can be written in it (tried with a probe file)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise FmiError(f"{what}: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".fmi-mx-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise FmiError(f"{what}: cannot write in {existing} ({e.strerror})") from None
    return folder


MAX_NAME = 100  # characters of an experiment's name: its folder, and the files named after it, stay short


def check_name(name: str) -> None:
    """A name that becomes a folder: letters, digits, '.', '_', '-', not starting with a dot, short."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or ".." in name:
        raise FmiError(f"must be a plain folder name (letters, digits, '.', '_', '-'), not {name!r}")
    if len(name) > MAX_NAME:
        raise FmiError(f"must be at most {MAX_NAME} characters long, not {len(name)}")
