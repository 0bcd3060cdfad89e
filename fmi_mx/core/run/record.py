"""The JSON sidecar beside every picture: what was asked, with which weights, how it went, on what software."""
import dataclasses
import hashlib
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional

import numpy as np

from ... import files
from ..._version import __version__
from ..image import images
from ..tasks import Task
from ..network.weights import Weights

if TYPE_CHECKING:  # the engine imports MXNet; writing records does not need it
    from .engine import Result


def record(task: Task, result: "Result", weights: Weights, device: str) -> Dict[str, object]:
    """The sidecar's content (``save`` adds the caller's extras)."""
    outcome = result.outcome
    return {
        "task": {"kind": task.KIND, **dataclasses.asdict(task), "optimise": task.optimise.flat()},
        "weights": weights.describe(),
        "device": device,
        "image_size": list(result.image.shape[:2]),
        "iterations": outcome.iterations,
        "stop_reason": outcome.stop_reason,
        "seconds_per_iteration": outcome.seconds_per_iteration,
        "batch_size": outcome.batch_size,
        **({"executor": result.batch_info} if result.batch_info else {}),
        **result.metrics,
        "history": outcome.history,
        "versions": versions(),
    }


def listed_file(data: bytes) -> Dict[str, object]:
    """How a sidecar lists one of its pictures: its size and sha256."""
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def save(path, image: np.ndarray, sidecar: Dict[str, object], raw: Optional[np.ndarray] = None) -> Path:
    """Write the picture (and, if given, the optimised image before denoising as ``raw.png``) and its
    sidecar (``.json`` beside it) all or nothing, the sidecar last: it marks the result finished, and
    no picture is ever left without it. The sidecar lists each picture's size and sha256 (``files``), so
    damage to them is noticed."""
    path = Path(path)
    pictures = [(path, images.encode(path, image))]
    pictures += [] if raw is None else [(path.with_name("raw.png"), images.encode(".png", raw))]
    listed = {p.name: listed_file(data) for p, data in pictures}
    sidecar_file = (path.with_suffix(".json"), files.json_bytes({**sidecar, "files": listed}))
    files.write_all(pictures + [sidecar_file])
    return path


def versions() -> Dict[str, str]:
    import cv2
    import skimage

    from ...backend.mx import mx

    return {"fmi_mx": __version__, "mxnet": mx.__version__, "numpy": np.__version__, "opencv": cv2.__version__,
            "scikit-image": skimage.__version__, "python": platform.python_version()}
