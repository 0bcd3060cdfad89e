"""Snapshots of an optimisation: the image (before denoising) every N updates, and an animated GIF of
them ending on the result, so one can see how an inversion went."""
import io
from pathlib import Path
from typing import Optional

import numpy as np

from .. import files
from . import images

SECONDS_PER_FRAME = 0.1


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
