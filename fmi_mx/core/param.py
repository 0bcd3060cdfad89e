"""How the optimised image is represented (its parameterisation), as Lucid does it (Olah et al., Distill 2017):

- ``pixel``: the image itself (RGB minus the network's mean): the original's, and the default.
- ``fourier``: a spectrum, scaled by 1/frequency, turned into an image by an inverse real DFT, its colours
  decorrelated through the square root of ImageNet's colour covariance and squashed into valid RGB by a
  sigmoid. Steps on such a spectrum are steps on all scales at once, which gives readable pictures.

The parameterisation is part of the graph, so MXNet gives the gradient with respect to the spectrum.
MXNet's FFT operators run on GPUs only, so the inverse DFT is two products with constant real matrices
(``idft_matrices``): along the rows a complex DFT of length H, along the columns a real one of length W.
The numpy functions here are the reference the tests hold the graph to.
"""
from typing import Dict, Tuple

import numpy as np

PARAMETERISATIONS = ("pixel", "fourier")
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


def irfft2(real: np.ndarray, imag: np.ndarray, height: int, width: int) -> np.ndarray:
    """The inverse DFT by the matrices above, in numpy (the graph does the same products)."""
    rows, columns = idft_matrices(height, width)
    ut_vt = np.concatenate([np.swapaxes(real, -1, -2), np.swapaxes(imag, -1, -2)], axis=-1) @ rows
    u, v = np.swapaxes(ut_vt[..., :height], -1, -2), np.swapaxes(ut_vt[..., height:], -1, -2)
    return np.concatenate([u, v], axis=-1) @ columns


def decorrelate(x: np.ndarray) -> np.ndarray:
    """Decorrelated colours (C, H, W) -> correlated ones, by the colour covariance's square root."""
    return np.einsum("ij,jhw->ihw", COLOUR, x)


def correlate(x: np.ndarray) -> np.ndarray:
    """The inverse of ``decorrelate``."""
    return np.einsum("ij,jhw->ihw", np.linalg.inv(COLOUR), x)


def fourier_image(spectrum: np.ndarray, height: int, width: int, mean_rgb, decay: float = 1.0) -> np.ndarray:
    """A spectrum (2, 3, H, Wf) as the network's input (3, H, W): RGB 0..255 minus the mean."""
    scale = frequency_scale(height, width, decay)
    x = np.fft.irfft2((spectrum[0] + 1j * spectrum[1]) * scale, s=(height, width)) / FOURIER_SCALE
    rgb = 1.0 / (1.0 + np.exp(-decorrelate(x)))
    return 255.0 * rgb - np.asarray(mean_rgb, np.float64)[:, None, None]


def variable_shape(param: str, batch: int, height: int, width: int) -> Tuple[int, ...]:
    """The shape of the optimised variable for a batch of images of height x width."""
    return (batch, 3, height, width) if param == "pixel" else (batch, 2, 3) + spectrum_shape(height, width)


def initial(param: str, shape: Tuple[int, ...], seed: int, init_range: float, restart: int = 0) -> np.ndarray:
    """The optimised variable's start: pixels uniform in +-init_range (the original's), a spectrum normal
    with Lucid's spread; ``restart`` k > 0 draws the k-th fresh start of the same seed."""
    rng = np.random.default_rng([seed, 0] if restart == 0 else [seed, 0, restart])
    if param == "pixel":
        return rng.uniform(-init_range, init_range, shape).astype(np.float32)
    return (rng.standard_normal(shape) * INIT_SD).astype(np.float32)


def constants(param: str, height: int, width: int, decay: float, mean_rgb) -> Dict[str, np.ndarray]:
    """The constant arrays the graph binds for a parameterisation (none for pixels)."""
    if param == "pixel":
        return {}
    rows, columns = idft_matrices(height, width)
    return {"param_rows": rows, "param_columns": columns,
            "param_scale": frequency_scale(height, width, decay)[None, None],
            "param_colour": COLOUR, "param_mean": np.asarray(mean_rgb, np.float64).reshape(1, 3, 1, 1)}


def symbol(param: str, data, height: int, width: int):
    """The image (N, 3, H, W), RGB 0..255 minus the mean, as a symbol of the optimised variable ``data``."""
    if param == "pixel":
        return data
    from ..backend.mx import mx

    v = {name: mx.sym.Variable(name) for name in ("param_rows", "param_columns", "param_scale", "param_colour",
                                                  "param_mean")}
    real = mx.sym.broadcast_mul(mx.sym.slice_axis(data, axis=1, begin=0, end=1).reshape((0, -3, -2)), v["param_scale"])
    imag = mx.sym.broadcast_mul(mx.sym.slice_axis(data, axis=1, begin=1, end=2).reshape((0, -3, -2)), v["param_scale"])
    ut_vt = mx.sym.dot(mx.sym.concat(mx.sym.swapaxes(real, 2, 3), mx.sym.swapaxes(imag, 2, 3), dim=3), v["param_rows"])
    u = mx.sym.swapaxes(mx.sym.slice_axis(ut_vt, axis=3, begin=0, end=height), 2, 3)
    w = mx.sym.swapaxes(mx.sym.slice_axis(ut_vt, axis=3, begin=height, end=None), 2, 3)
    x = mx.sym.dot(mx.sym.concat(u, w, dim=3), v["param_columns"]) / FOURIER_SCALE  # (N, 3, H, W)
    coloured = mx.sym.dot(mx.sym.swapaxes(x, 1, 3), v["param_colour"], transpose_b=True)  # (N, W, H, 3)
    rgb = mx.sym.sigmoid(mx.sym.swapaxes(coloured, 1, 3))
    return mx.sym.broadcast_sub(255.0 * rgb, v["param_mean"])
