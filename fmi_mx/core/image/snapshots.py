"""Snapshots of an optimisation: the image (before denoising) every N updates, and an animated GIF of
them ending on the result, so one can see how an inversion went."""
import io
from pathlib import Path
from typing import Optional

import numpy as np

from ... import files
from ...errors import FmiError
from . import images

SECONDS_PER_FRAME = 0.1


def check(folder: Path) -> Path:
    """Snapshots can be written in ``folder``: a file in the way or an unwritable folder is refused (before
    any compute)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FmiError(f"snapshots folder {folder} is a file: move it, or choose another --out")
    return files.check_folder(folder, "snapshots folder")


def clear(folder: Path) -> None:
    """Remove the snapshots a run before left in ``folder`` (when this run writes its first), so that the
    folder and its animation show one run."""
    for old in Path(folder).glob("[0-9][0-9][0-9][0-9][0-9].png") if Path(folder).is_dir() else ():
        old.unlink()


def write(folder: Path, update: int, rgb: np.ndarray) -> Path:
    """``folder/00010.png`` for update 10."""
    return images.write(Path(folder) / f"{update:05d}.png", rgb)


def animate(folder: Path, out: Path, final: Optional[np.ndarray] = None) -> Path:
    """An animated GIF of the snapshots in ``folder`` (in update order), then ``final`` if given."""
    import imageio.v2 as imageio

    frames = [images.read(p) for p in sorted(Path(folder).glob("*.png"))]
    if final is not None:
        frames.append(final)
    buffer = io.BytesIO()
    imageio.mimwrite(buffer, frames, format="GIF", duration=SECONDS_PER_FRAME, loop=0)
    return files.write_bytes(out, buffer.getvalue())
