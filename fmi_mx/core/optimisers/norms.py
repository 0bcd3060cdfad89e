"""Per-sample norms of a batch, computed on its device."""
import numpy as np


def relative_change(x, previous) -> np.ndarray:
    """Each sample's ||x - previous|| / ||x||, computed on the device (n numbers come back)."""
    from ...backend.mx import mx

    n = x.shape[0]
    moved = mx.nd.norm((x - previous).reshape((n, -1)), axis=1)
    return (moved / mx.nd.norm(x.reshape((n, -1)), axis=1)).asnumpy()
