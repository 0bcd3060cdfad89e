"""The one place that imports MXNet, so its start-up noise is silenced once.

MXNet 1.9.1 touches ``np.bool``, which numpy 1.23 deprecates, and a few other APIs that numpy,
scipy and distutils deprecate: those warnings, raised inside mxnet's own modules, are filtered by
message, no others. The oneDNN subgraph banner is switched off unless the user set it.
"""
import os
import warnings

from .cpus import physical_cores

# MXNet 1.9.1 sizes its OpenMP pool as half the logical CPUs on x86, assuming hyperthreading: on a
# 2-vCPU machine without it, one thread. Using every physical core makes a step 1.8x faster there
# (benchmarks/README.md). OMP_NUM_THREADS or MXNET_OMP_MAX_THREADS, when set, win.
if "OMP_NUM_THREADS" not in os.environ:
    os.environ.setdefault("MXNET_OMP_MAX_THREADS", str(physical_cores()))
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
warnings.filterwarnings("ignore", message=r".*`np\.bool` is a deprecated alias")
for _message in (r"In accordance with NEP 32", r"Please import `csr_matrix`", r"distutils Version classes"):
    warnings.filterwarnings("ignore", message=_message, category=DeprecationWarning, module=r"mxnet\.")

from . import cuda, devices  # noqa: E402

if cuda.mxnet_is_cuda_build():
    cuda.LOADED[:] = cuda.preload()

import mxnet as mx  # noqa: E402  (must follow the settings above)

__all__ = ["mx", "context"]


def context(device: str) -> "mx.Context":
    """The MXNet context of a device name (see ``devices.parse``), checked against this MXNet build."""
    from ..errors import FmiError

    kind, n = devices.parse(device)
    if kind == "gpu":
        if not mx.runtime.Features().is_enabled("CUDA"):
            raise FmiError(f"device '{device}' needs a GPU build of MXNet (pip install mxnet-cu112==1.9.1, "
                           "or MXNET_EXTRA=gpu make setup); this one is CPU-only")
        if n >= mx.context.num_gpus():
            raise FmiError(f"device '{device}' does not exist: MXNet sees {mx.context.num_gpus()} GPU(s)")
        return mx.gpu(n)
    return mx.cpu(n)
