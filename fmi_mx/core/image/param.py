"""How the optimised image is represented (its parameterisation), as Lucid does it (Olah et al., Distill 2017):

- ``pixel``: the image itself (RGB minus the network's mean): the original's, and the default.
- ``fourier``: a spectrum, scaled by 1/frequency, turned into an image by an inverse real DFT, its colours
  decorrelated through the square root of ImageNet's colour covariance and squashed into valid RGB by a
  sigmoid. Steps on such a spectrum are steps on all scales at once, which gives readable pictures.

Each is a ``Parameterisation`` subclass, registered under its name: it owns its variable's shape, its
initial value, the constants its graph binds and the symbol of the image it stands for. A new one (Lucid's
low-resolution image, say) is one more subclass, anywhere.

The parameterisation is part of the graph, so MXNet gives the gradient with respect to the spectrum.
MXNet's FFT operators run on GPUs only, so the inverse DFT is two products with constant real matrices
(``idft_matrices``): along the rows a complex DFT of length H, along the columns a real one of length W.
"""
from typing import ClassVar, Dict, Tuple

import numpy as np

from ...errors import unknown
#: Lucid's square root of ImageNet's colour covariance (RGB), normalised so its largest column has norm 1
COLOUR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOUR = COLOUR_SQRT / np.max(np.linalg.norm(COLOUR_SQRT, axis=0))
FOURIER_SCALE = 4.0  # Lucid divides the inverse DFT by this, so that the first pictures are not saturated
INIT_SD = 0.01  # Lucid's spread of the initial spectrum


def spectrum_shape(height: int, width: int) -> Tuple[int, int]:
    """(rows, columns) of a real image's half spectrum."""
    return height, width // 2 + 1


def frequency_scale(height: int, width: int, decay: float = 1.0) -> np.ndarray:
    """1 / |f|^decay per spectrum entry (the zero frequency as the lowest non-zero one), times sqrt(H W) so
    that the inverse DFT is unitary (Lucid's: learning rates like those of pixels): white spectra give
    pictures with a natural 1/f falloff."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    freqs = np.sqrt(fy * fy + fx * fx)
    return np.sqrt(height * width) / np.maximum(freqs, 1.0 / max(height, width)) ** decay


def idft_matrices(height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Constant real matrices of the inverse 2-D real DFT, ``x = irfft2(A + iB)``:

    rows (2H, 2H):    [U_t | V_t] = [A_t | B_t] @ rows, with U + iV the inverse complex DFT along H;
    columns (2Wf, W): x = [U | V] @ columns, the inverse real DFT along W (1/(H W) folded in),
    where ``_t`` is the transpose of the last two axes and Wf = W // 2 + 1."""
    m = np.arange(height)
    angle = 2 * np.pi * np.outer(m, m) / height
    c, s = np.cos(angle), np.sin(angle)  # E = C + iS, E[m, k] = exp(2 pi i m k / H)
    rows = np.block([[c.T, s.T], [-s.T, c.T]])  # U_t = A_t C^T - B_t S^T, V_t = A_t S^T + B_t C^T
    k = np.arange(width // 2 + 1)
    weight = np.where((k == 0) | ((width % 2 == 0) & (k == width // 2)), 1.0, 2.0)[:, None]
    angle = 2 * np.pi * np.outer(k, np.arange(width)) / width
    columns = np.concatenate([weight * np.cos(angle), -weight * np.sin(angle)]) / (height * width)
    return rows, columns


def decorrelate(x: np.ndarray) -> np.ndarray:
    """Decorrelated colours (C, H, W) -> correlated ones, by the colour covariance's square root."""
    return np.einsum("ij,jhw->ihw", COLOUR, x)


class Parameterisation:
    """How the optimised variable stands for the image (N, 3, H, W), RGB 0..255 minus the network's mean."""

    name: ClassVar[str] = ""
    is_image: ClassVar[bool] = False  # the variable is the image itself (no forward pass needed to see it)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.name] = cls()

    def variable_shape(self, batch: int, height: int, width: int) -> Tuple[int, ...]:
        raise NotImplementedError

    def initial(self, shape: Tuple[int, ...], rng: np.random.Generator, init_range: float) -> np.ndarray:
        """The variable's start, drawn from ``rng``."""
        raise NotImplementedError

    def constants(self, height: int, width: int, decay: float, mean_rgb) -> Dict[str, np.ndarray]:
        """The constant arrays the graph binds (their names are the symbol's variables)."""
        return {}

    def symbol(self, data, height: int, width: int):
        """The image as a symbol of the optimised variable ``data``."""
        return data


REGISTRY: Dict[str, Parameterisation] = {}


class Pixel(Parameterisation):
    """The image itself: the original's."""

    name = "pixel"
    is_image = True

    def variable_shape(self, batch, height, width):
        return batch, 3, height, width

    def initial(self, shape, rng, init_range):
        return rng.uniform(-init_range, init_range, shape).astype(np.float32)


class Fourier(Parameterisation):
    """Lucid's 1/f-scaled spectrum with decorrelated colours and a sigmoid."""

    name = "fourier"

    def variable_shape(self, batch, height, width):
        return (batch, 2, 3) + spectrum_shape(height, width)

    def initial(self, shape, rng, init_range):
        return (rng.standard_normal(shape) * INIT_SD).astype(np.float32)

    def constants(self, height, width, decay, mean_rgb):
        rows, columns = idft_matrices(height, width)
        return {"param_rows": rows, "param_columns": columns,
                "param_scale": frequency_scale(height, width, decay)[None, None],
                "param_colour": COLOUR, "param_mean": np.asarray(mean_rgb, np.float64).reshape(1, 3, 1, 1)}

    def symbol(self, data, height, width):
        from ...backend.mx import mx

        v = {name: mx.sym.Variable(name) for name in ("param_rows", "param_columns", "param_scale", "param_colour",
                                                      "param_mean")}
        real = mx.sym.broadcast_mul(mx.sym.slice_axis(data, axis=1, begin=0, end=1).reshape((0, -3, -2)), v["param_scale"])
        imag = mx.sym.broadcast_mul(mx.sym.slice_axis(data, axis=1, begin=1, end=2).reshape((0, -3, -2)), v["param_scale"])
        ut_vt = mx.sym.dot(mx.sym.concat(mx.sym.swapaxes(real, 2, 3), mx.sym.swapaxes(imag, 2, 3), dim=3),
                           v["param_rows"])
        u = mx.sym.swapaxes(mx.sym.slice_axis(ut_vt, axis=3, begin=0, end=height), 2, 3)
        w = mx.sym.swapaxes(mx.sym.slice_axis(ut_vt, axis=3, begin=height, end=None), 2, 3)
        x = mx.sym.dot(mx.sym.concat(u, w, dim=3), v["param_columns"]) / FOURIER_SCALE  # (N, 3, H, W)
        coloured = mx.sym.dot(mx.sym.swapaxes(x, 1, 3), v["param_colour"], transpose_b=True)  # (N, W, H, 3)
        rgb = mx.sym.sigmoid(mx.sym.swapaxes(coloured, 1, 3))
        return mx.sym.broadcast_sub(255.0 * rgb, v["param_mean"])


PARAMETERISATIONS = REGISTRY.keys()  # live: one defined later is a valid choice too


def of(name: str) -> Parameterisation:
    """The parameterisation called ``name``."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown("parameterisation", name, REGISTRY) from None


def initial(name: str, shape: Tuple[int, ...], seed: int, init_range: float, restart: int = 0) -> np.ndarray:
    """The optimised variable's start: pixels uniform in +-init_range (the original's), a spectrum normal
    with Lucid's spread; ``restart`` k > 0 draws the k-th fresh start of the same seed."""
    rng = np.random.default_rng([seed, 0] if restart == 0 else [seed, 0, restart])
    return of(name).initial(shape, rng, init_range)
