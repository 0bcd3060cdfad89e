"""CUDA 11 libraries for mxnet-cu112 on machines with only the NVIDIA driver.

The ``gpu`` extra installs NVIDIA's runtime wheels (``nvidia-*-cu11``). MXNet finds its libraries
by soname through the system loader, which does not look inside site-packages, so when the system
has no CUDA 11 runtime we load each wheel library by full path (RTLD_GLOBAL) before importing MXNet.
"""
import ctypes
import site
import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence

#: (wheel folder under nvidia/, file pattern), in dependency order
LIBRARIES = (
    ("cuda_runtime", "libcudart.so.11*"),
    ("cublas", "libcublasLt.so.11*"),
    ("cublas", "libcublas.so.11*"),
    ("cufft", "libcufft.so.10*"),
    ("curand", "libcurand.so.10*"),
    ("cusolver", "libcusolver.so.11*"),
    ("cuda_nvrtc", "libnvrtc.so.11*"),
    ("nvtx", "libnvToolsExt.so.1*"),
    ("nccl", "libnccl.so.2*"),
    ("cudnn", "libcudnn*.so.8*"),  # cudnn 8 opens its sub-libraries by soname: preload them all
)
SYSTEM_PROBE = "libcudart.so.11.0"


def site_dirs() -> List[Path]:
    dirs = list(site.getsitepackages()) + [site.getusersitepackages()] + [p for p in sys.path if "site-packages" in p]
    return list(dict.fromkeys(Path(d) for d in dirs))


def wheel_libraries(dirs: Sequence[Path]) -> List[Path]:
    """The CUDA 11 wheel libraries present under ``dirs``, in loading order."""
    found = []
    for folder, pattern in LIBRARIES:
        for d in dirs:
            lib = Path(d) / "nvidia" / folder / "lib"
            if lib.is_dir():
                found += sorted(p for p in lib.glob(pattern) if p not in found)
                break
    return found


def system_has(soname: str = SYSTEM_PROBE, loader: Callable = ctypes.CDLL) -> bool:
    try:
        loader(soname)
        return True
    except OSError:
        return False


def preload(dirs: Optional[Sequence[Path]] = None, loader: Callable = ctypes.CDLL,
            has_system: Optional[bool] = None) -> List[Path]:
    """Load the wheel libraries unless the system already provides CUDA 11; return what was loaded."""
    if has_system if has_system is not None else system_has(loader=loader):
        return []
    loaded = []
    for path in wheel_libraries(site_dirs() if dirs is None else dirs):
        try:
            loader(str(path), mode=ctypes.RTLD_GLOBAL)
            loaded.append(path)
        except OSError:
            pass  # a library the wheel ships but this machine cannot use; MXNet will say what it misses
    return loaded


def mxnet_is_cuda_build() -> bool:
    """Is the installed MXNet a CUDA build (mxnet-cu*)? Answered from package metadata, no import."""
    from importlib import metadata

    return any((d.metadata["Name"] or "").lower().startswith("mxnet-cu") for d in metadata.distributions())


LOADED: List[Path] = []
