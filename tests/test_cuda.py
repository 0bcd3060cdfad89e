"""The CUDA-wheel loader on a fake library folder, and the doctor's GPU checks."""
import ctypes
import shutil
import subprocess

import pytest

from fmi_mx.backend import cuda
from fmi_mx.tools import doctor

WHEEL_FILES = {
    "cuda_runtime": ["libcudart.so.11.0"], "cublas": ["libcublas.so.11", "libcublasLt.so.11"],
    "cufft": ["libcufft.so.10"], "curand": ["libcurand.so.10"], "cusolver": ["libcusolver.so.11"],
    "cuda_nvrtc": ["libnvrtc.so.11.2"], "nvtx": ["libnvToolsExt.so.1"], "nccl": ["libnccl.so.2"],
    "cudnn": ["libcudnn.so.8", "libcudnn_ops_infer.so.8", "libcudnn_cnn_infer.so.8", "README"],
}


@pytest.fixture
def fake_site(tmp_path):
    for folder, names in WHEEL_FILES.items():
        lib = tmp_path / "nvidia" / folder / "lib"
        lib.mkdir(parents=True)
        for name in names:
            (lib / name).write_bytes(b"")
    return tmp_path


def test_wheel_libraries_in_dependency_order(fake_site):
    names = [p.name for p in cuda.wheel_libraries([fake_site.parent / "elsewhere", fake_site])]
    assert names[:3] == ["libcudart.so.11.0", "libcublasLt.so.11", "libcublas.so.11"]
    assert names.index("libnccl.so.2") < names.index("libcudnn.so.8")
    assert {"libcudnn_ops_infer.so.8", "libcudnn_cnn_infer.so.8"} <= set(names) and "README" not in names
    assert len(names) == 12


def test_preload_loads_by_full_path_only_without_a_system_runtime(fake_site):
    calls = []

    def loader(path, mode=0):
        calls.append((path, mode))

    assert cuda.preload([fake_site], loader=loader, has_system=True) == [] and calls == []
    loaded = cuda.preload([fake_site], loader=loader, has_system=False)
    assert len(loaded) == 12 and all(mode == ctypes.RTLD_GLOBAL for _, mode in calls)
    assert calls[0][0] == str(fake_site / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.11.0")


def test_preload_skips_a_library_that_fails_and_goes_on(fake_site):
    def loader(path, mode=0):
        if "cufft" in path:
            raise OSError("cannot load")

    names = [p.name for p in cuda.preload([fake_site], loader=loader, has_system=False)]
    assert "libcufft.so.10" not in names and "libcudnn.so.8" in names


@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler to build a stand-in library")
def test_a_real_shared_library_is_loaded_globally(tmp_path):
    lib = tmp_path / "nvidia" / "cuda_runtime" / "lib"
    lib.mkdir(parents=True)
    source = tmp_path / "stub.c"
    source.write_text("int cudaRuntimeGetVersion(int *v) { *v = 11020; return 0; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib / "libcudart.so.11.0"), str(source)], check=True)
    assert [p.name for p in cuda.preload([tmp_path], has_system=False)] == ["libcudart.so.11.0"]
    version = ctypes.c_int()
    ctypes.CDLL(None).cudaRuntimeGetVersion(ctypes.byref(version))  # visible globally, as MXNet needs
    assert version.value == 11020


def test_doctor_parses_nvidia_smi_and_warns_for_hopper():
    gpus = doctor.parse_nvidia_smi("0, NVIDIA A100-SXM4-40GB, 8.0, 40000, 40960\n"
                                   "1, NVIDIA H100 80GB HBM3, 9.0, 81000, 81559\n")
    assert [g.compute_capability for g in gpus] == ["8.0", "9.0"]
    assert doctor.unsupported(gpus[0]) is None
    assert "sm_86" in doctor.unsupported(gpus[1]) and "GPU 1" in doctor.unsupported(gpus[1])
    assert doctor.unsupported(doctor.Gpu(2, "RTX 3090", "8.6", 1, 2)) is None
    assert doctor.unsupported(doctor.Gpu(3, "RTX 4090", "8.9", 1, 2)) is None  # runs sm_86 code
    assert doctor.unsupported(doctor.Gpu(4, "B200", "10.0", 1, 2)) is not None


def test_doctor_report_runs_here():
    lines = doctor.report()
    assert lines[0].startswith("fmi_mx") and any("MKLDNN" in line for line in lines)
