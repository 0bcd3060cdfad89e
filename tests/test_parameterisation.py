"""A parameterisation is one class: this file adds Lucid's low-resolution image (a coarse grid, upsampled
bilinearly into the picture) and runs it end to end through the public API, with nothing else changed."""
import numpy as np
import pytest

import fmi_mx
from fmi_mx.backend.mx import mx
from fmi_mx.core.image import param
from fmi_mx.errors import FmiError

FACTOR = 4


class LowResolution(param.Parameterisation):
    """The image as a (H/4, W/4) grid of colours, upsampled bilinearly."""

    name = "test-low-resolution"

    def variable_shape(self, batch, height, width):
        return batch, 3, -(-height // FACTOR), -(-width // FACTOR)

    def initial(self, shape, rng, init_range):
        return rng.uniform(-init_range, init_range, shape).astype(np.float32)

    def symbol(self, data, height, width):
        return mx.sym.contrib.BilinearResize2D(data, height=height, width=width)


# Defining a subclass registers it; it is registered again only for the test that uses it (fixture below), so
# every other test, and the generated command-line reference, sees only the parameterisations the package ships.
param.REGISTRY.pop(LowResolution.name)


@pytest.fixture
def low_resolution():
    """The low-resolution parameterisation, registered for one test."""
    yield param.REGISTRY.setdefault(LowResolution.name, LowResolution())
    param.REGISTRY.pop(LowResolution.name, None)


def _roughness(picture: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels."""
    x = picture.astype(np.float64)
    return float(np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean())


def test_a_parameterisation_defined_here_runs_end_to_end(low_resolution):
    common = dict(layers="relu1_1", weights="random", size=32, max_iterations=30, remove_noise=0)
    image, record = fmi_mx.invert("sample:astronaut", param=LowResolution.name, **common)
    pixels, _ = fmi_mx.invert("sample:astronaut", **common)
    assert image.shape == pixels.shape == (32, 32, 3)
    losses = [loss for _, loss, _ in record["history"]]  # (iteration, loss, relative change)
    assert losses[-1] < 0.5 * losses[0]  # the coarse grid is optimised: its loss falls
    # an 8 x 8 grid upsampled to 32 x 32 varies slowly; the pixel image from noise does not
    assert _roughness(image) < 0.5 * _roughness(pixels)
    assert record["task"]["optimise"]["param"] == LowResolution.name


def test_an_unknown_parameterisation_names_the_known_ones():
    with pytest.raises(FmiError, match="unknown parameterisation 'pixels'.*Did you mean 'pixel'"):
        param.of("pixels")
