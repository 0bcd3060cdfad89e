"""fmi_mx: feature map inversion of VGG-16/19 in MXNet (Xia et al., arXiv 1608.04170)."""
from setuptools import find_packages, setup

setup(
    name="fmi_mx",
    version="0.1.0",
    description="Every filter extracts a specific texture: feature map inversion in MXNet",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["fmi_mx", "fmi_mx.*"]),
    package_data={"fmi_mx.atlas": ["templates/*.html", "static/*"]},
    python_requires=">=3.10,<3.12",  # keyword-only dataclasses; MXNet 1.9.1 wheels stop at 3.11
    install_requires=[
        "numpy<1.24",  # MXNet 1.9.1 uses np.bool, removed in numpy 1.24
        "opencv-python-headless",  # servers have no libGL
        "pyyaml",
        "tqdm",  # progress over jobs
        "scikit-image",  # Chambolle TV denoising and the bundled sample images
        "Pillow",  # image headers (size before decoding); scikit-image brings it too
        "jinja2",  # the atlas's static site
        "matplotlib>=3.5,<3.10",  # figures and curves; 3.10 and newer need numpy>=1.25
    ],
    extras_require={
        "cpu": ["mxnet==1.9.1"],
        # mxnet-cu112 plus NVIDIA's CUDA 11 runtime wheels, loaded by fmi_mx.backend.cuda when the
        # system has no CUDA toolkit (a machine with only the driver)
        "gpu": ["mxnet-cu112==1.9.1", "nvidia-cuda-runtime-cu11", "nvidia-cudnn-cu11>=8.5,<9",
                "nvidia-cublas-cu11", "nvidia-cufft-cu11", "nvidia-curand-cu11", "nvidia-cusolver-cu11",
                "nvidia-cuda-nvrtc-cu11", "nvidia-nccl-cu11", "nvidia-nvtx-cu11"],
        # reading ONNX VGGs (the trained VGG-16 of `fmi-mx weights fetch vgg16`); 1.23 works with numpy 1.23
        "onnx": ["onnx>=1.15"],
        # reading Keras .h5 VGGs (the paper's VGG-19 of `fmi-mx weights fetch`); 3.16 works with numpy 1.23
        "h5": ["h5py>=3.8"],
        # selenium drives Debian's chromium; wheel lets pip read the test sdists' metadata offline
        "test": ["pytest", "hypothesis", "selenium", "onnx>=1.15", "h5py>=3.8", "wheel"],
        # the docs site (MkDocs: the pages are Markdown already; mkdocstrings reads the docstrings) and the
        # example notebooks (jupytext percent scripts, run by nbclient); all work with numpy 1.23
        "docs": ["mkdocs>=1.6,<2", "mkdocs-material>=9.5", "mkdocstrings-python>=1.10", "mkdocs-jupyter>=0.25",
                 "jupytext>=1.16", "nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6"],
        "bench": ["torch"],  # the PyTorch baseline of `make bench` (CPU build is enough)
    },
    entry_points={"console_scripts": ["fmi-mx=fmi_mx.cli:main"]},
)
