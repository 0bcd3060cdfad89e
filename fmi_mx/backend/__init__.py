"""The machine side: MXNet's import and devices (``mx``), CPU cores (``cpus``), CUDA 11 libraries (``cuda``).

Importing this package imports no MXNet: spawned workers read ``cpus`` before choosing their GPU.
"""
