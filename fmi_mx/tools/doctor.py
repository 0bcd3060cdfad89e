"""``fmi-mx doctor``: what this machine can run — MXNet's build, the GPUs, the CUDA libraries."""
import shutil
import subprocess
from dataclasses import dataclass
from typing import List, Optional

#: the official MXNet 1.9.1 GPU wheels carry kernels for sm_50 .. sm_86; a kernel runs on a GPU of the
#: same major version and a higher minor one (8.9 runs sm_86 code), never on a higher major version
FIRST_UNSUPPORTED_MAJOR = 9


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    compute_capability: str
    free_mb: float
    total_mb: float


def parse_nvidia_smi(text: str) -> List[Gpu]:
    """Rows of ``nvidia-smi --query-gpu=index,name,compute_cap,memory.free,memory.total --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 5 and parts[0].isdigit():
            gpus.append(Gpu(int(parts[0]), parts[1], parts[2], float(parts[3]), float(parts[4])))
    return gpus


def unsupported(gpu: Gpu) -> Optional[str]:
    """A warning for GPUs MXNet 1.9.1's wheels have no kernels for (Hopper, compute capability 9.0, and newer)."""
    try:
        cc = tuple(int(x) for x in gpu.compute_capability.split("."))
    except ValueError:
        return None
    if cc[0] >= FIRST_UNSUPPORTED_MAJOR:
        return (f"WARNING: GPU {gpu.index} ({gpu.name}, compute capability {gpu.compute_capability}) cannot run "
                "the official MXNet 1.9.1 wheels: their kernels stop at sm_86. Use it for nothing here, or "
                "run on CPUs / older GPUs.")
    return None


def gpus() -> Optional[List[Gpu]]:
    """GPUs as the driver sees them, or None without nvidia-smi."""
    if not shutil.which("nvidia-smi"):
        return None
    query = ["nvidia-smi", "--query-gpu=index,name,compute_cap,memory.free,memory.total",
             "--format=csv,noheader,nounits"]
    try:
        return parse_nvidia_smi(subprocess.run(query, capture_output=True, text=True, timeout=30).stdout)
    except (OSError, subprocess.SubprocessError):
        return []


def report() -> List[str]:
    from .._version import __version__
    from ..backend import cuda
    from ..backend.mx import mx

    features = mx.runtime.Features()
    names = ("CUDA", "CUDNN", "NCCL", "MKLDNN", "OPENMP", "BLAS_OPEN", "BLAS_MKL")
    lines = [f"fmi_mx {__version__}, mxnet {mx.__version__} "
             f"({'CUDA' if features.is_enabled('CUDA') else 'CPU-only'} build)",
             "build features: " + ", ".join(f"{n} {'yes' if features.is_enabled(n) else 'no'}" for n in names)]
    if cuda.mxnet_is_cuda_build():
        where = (", ".join(str(p) for p in cuda.LOADED) if cuda.LOADED else
                 "system (libcudart.so.11.0 found by the loader)" if cuda.system_has() else "none found")
        lines.append(f"CUDA libraries: {where}")
    found = gpus()
    if found is None:
        lines.append("GPUs: nvidia-smi not found (no NVIDIA driver): CPU only")
    else:
        lines.append(f"GPUs: {len(found)}" + ("" if features.is_enabled("CUDA") else
                                               " (this MXNet is CPU-only: MXNET_EXTRA=gpu make setup)"))
        for gpu in found:
            lines.append(f"  gpu:{gpu.index} {gpu.name}, compute capability {gpu.compute_capability}, "
                         f"{gpu.free_mb:.0f} of {gpu.total_mb:.0f} MiB free")
            warning = unsupported(gpu)
            if warning:
                lines.append("  " + warning)
        if features.is_enabled("CUDA"):
            lines.append(f"MXNet sees {mx.context.num_gpus()} GPU(s)")
    return lines
