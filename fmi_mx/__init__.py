"""fmi_mx: feature map inversion (FMI) and modified code inversion (PMCI) of VGG-19 and VGG-16 in MXNet.

Port of the code behind Xia et al., "Every Filter Extracts a Specific Texture in
Convolutional Neural Networks" (arXiv 1608.04170). The API:

    import fmi_mx
    image, record = fmi_mx.invert("sample:astronaut", layers=["relu1_2"], mode="feature_map", filter=3,
                                  weights="random", size=32, max_iterations=20)
    image, record = fmi_mx.style_transfer("content.jpg", "style.jpg", mode="gram")
    weights = fmi_mx.load_weights("models/vgg16.params")   # or "random", "random:SEED"
    image, record = fmi_mx.invert("photo.jpg", layers="relu3_2", mode="feature_map", filter=5,
                                  network="vgg16", weights=weights)

Layout: ``core/`` the science, ``sweep/`` configs and the worker pool, ``atlas/`` the filter atlas,
``pretrained/`` where trained weights come from, ``tools/`` demo, inputs and doctor, ``backend/``
MXNet and devices; README "Architecture".
"""
from ._version import __version__
__all__ = ["invert", "style_transfer", "visualise", "load_weights", "channel", "neuron", "diversity", "__version__"]


def __getattr__(name: str):
    # loaded on first use, so that importing a submodule (a spawned worker does) stays light
    if name in ("invert", "style_transfer", "visualise"):
        from . import api

        return getattr(api, name)
    if name in ("channel", "neuron", "diversity"):  # objectives that compose: channel("relu4_2", 5) - 0.5 * channel(...)
        from .core.objectives import compose

        return getattr(compose, name)
    if name == "load_weights":
        from .core.network.weights import resolve

        return resolve
    raise AttributeError(f"module 'fmi_mx' has no attribute '{name}'")
