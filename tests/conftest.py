"""Shared fixtures: seeded weights and small images, all made on the fly, so no test downloads or reads files from outside the repository."""
import numpy as np
import pytest

from fmi_mx.core.network import weights as W


@pytest.fixture(scope="session")
def random_weights() -> W.Weights:
    return W.random_he(0)


@pytest.fixture(scope="session")
def biased_weights(random_weights) -> W.Weights:
    """He weights with non-zero biases, so tests also see the biases used."""
    rng = np.random.default_rng(1)
    arrays = {k: (v if k.endswith("_weight") else rng.normal(0, 0.1, v.shape).astype(np.float32))
              for k, v in random_weights.arrays.items()}
    return W.Weights(arrays, W.CAFFE_MEAN_RGB, "test:biased", "none")


@pytest.fixture
def rgb():
    """A smooth seeded 24x32 RGB picture with some structure."""
    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:24, 0:32]
    base = np.stack([128 + 100 * np.sin(x / 4.0), 128 + 100 * np.cos(y / 3.0), 40 + 5 * (x + y)], axis=-1)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def offline_pip(tmp_path, monkeypatch):
    """pip with no index and an empty wheelhouse (``PIP_FIND_LINKS``): every download fails at once,
    and nothing is fetched from the network. Returns the wheelhouse, where a test may put wheels."""
    import os

    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no user or site pip configuration
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    return wheelhouse
