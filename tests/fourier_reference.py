"""The Fourier parameterisation in numpy, to hold the graph to: the inverse DFT by the constant matrices
the graph uses, and the whole spectrum-to-image chain with numpy's own irfft2."""
import numpy as np

from fmi_mx.core.image import param


def irfft2(real: np.ndarray, imag: np.ndarray, height: int, width: int) -> np.ndarray:
    """The inverse DFT by ``param.idft_matrices``, the products the graph makes."""
    rows, columns = param.idft_matrices(height, width)
    ut_vt = np.concatenate([np.swapaxes(real, -1, -2), np.swapaxes(imag, -1, -2)], axis=-1) @ rows
    u, v = np.swapaxes(ut_vt[..., :height], -1, -2), np.swapaxes(ut_vt[..., height:], -1, -2)
    return np.concatenate([u, v], axis=-1) @ columns


def fourier_image(spectrum: np.ndarray, height: int, width: int, mean_rgb, decay: float = 1.0) -> np.ndarray:
    """A spectrum (2, 3, H, Wf) as the network's input (3, H, W): RGB 0..255 minus the mean."""
    scale = param.frequency_scale(height, width, decay)
    x = np.fft.irfft2((spectrum[0] + 1j * spectrum[1]) * scale, s=(height, width)) / param.FOURIER_SCALE
    rgb = 1.0 / (1.0 + np.exp(-param.decorrelate(x)))
    return 255.0 * rgb - np.asarray(mean_rgb, np.float64)[:, None, None]
