"""Measures of pictures (RGB, 0..255), pure numpy: what the paper's results section says about its
figures, put in numbers.

- Colourfulness: Hasler & Süsstrunk's (2003) M. With rg = R - G and yb = (R + G)/2 - B,
  M = sqrt(var rg + var yb) + 0.3 sqrt(mean rg^2 + mean yb^2); grey is 0, and their survey rated M about
  15 "slightly", 33 "moderately", 45 "averagely", 59 "quite" and 82 "highly colourful".
- Complexity: order times variety, in [0, 1]. Order is how far the luminance's radially averaged power
  spectrum is from white (1 - its spectral flatness, geometric over arithmetic mean): white noise has
  none, a picture with edges, blobs or periods has much. Variety is the entropy of gradient orientations
  weighted by gradient magnitude (over ORIENTATION_BINS bins of [0, pi), over its maximum): one for every
  orientation alike, none for parallel stripes. So noise scores about 0 (no order), stripes 0 (no
  variety), checkerboards about 0.3-0.5 (two orientations and their harmonics), natural textures 0.5-0.95.
  Its blind spot: smoothed noise has a falling spectrum and every orientation, so it scores as a natural
  texture does; the measure cannot tell correlated noise from structure.
- Content kept: SSIM of the luminance, and the correlation of Sobel edge magnitudes.
- Colour against structure, for two pictures: the Hellinger distance of their colour histograms (blind
  to where colours are) and 1 - the correlation of their edge magnitudes (blind to which colours).
"""
import numpy as np

ORIENTATION_BINS = 16
COLOUR_BINS = 8  # per channel: 512 colour cells
LUMA = np.array([0.299, 0.587, 0.114])


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luminance of an RGB picture; a 2-D picture is taken as luminance already."""
    x = np.asarray(rgb, np.float64)
    return x @ LUMA if x.ndim == 3 else x


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's M of an RGB picture (H, W, 3) in 0..255."""
    x = np.asarray(rgb, np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def orientation_entropy(rgb: np.ndarray, bins: int = ORIENTATION_BINS) -> float:
    """Entropy of gradient orientations (mod pi) weighted by magnitude, over its maximum log(bins): in [0, 1].
    NaN for a picture without any gradient."""
    gy, gx = np.gradient(luminance(rgb))
    magnitude = np.hypot(gx, gy)
    total = magnitude.sum()
    if total <= 0:
        return float("nan")
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    histogram, _ = np.histogram(angle, bins=bins, range=(0.0, np.pi), weights=magnitude)
    p = histogram[histogram > 0] / total
    return float(-(p * np.log(p)).sum() / np.log(bins))


def radial_spectrum(rgb: np.ndarray) -> np.ndarray:
    """The luminance's power (Hann-windowed, mean removed) averaged over rings of integer frequency
    radius 1 .. min(H, W)/2 - 1."""
    g = luminance(rgb)
    g = (g - g.mean()) * np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    rows, columns = np.indices(power.shape)
    radius = np.hypot(rows - g.shape[0] // 2, columns - g.shape[1] // 2).round().astype(int).ravel()
    top = min(g.shape) // 2
    return (np.bincount(radius, power.ravel()) / np.maximum(np.bincount(radius), 1))[1:top]


def spectral_order(rgb: np.ndarray) -> float:
    """1 - the spectral flatness of ``radial_spectrum``: about 0 for white noise, 1 for one frequency.
    NaN for a flat picture."""
    profile = radial_spectrum(rgb)
    if profile.size == 0 or profile.max() <= 0:
        return float("nan")
    profile = np.maximum(profile, profile.max() * 1e-12)  # a ring without power counts as nearly none
    return float(1.0 - np.exp(np.log(profile).mean()) / profile.mean())


def complexity(rgb: np.ndarray) -> float:
    """Order (``spectral_order``) times variety (``orientation_entropy``): low for noise and for stripes,
    high for natural textures. NaN for a flat picture."""
    return spectral_order(rgb) * orientation_entropy(rgb)


def content_ssim(picture: np.ndarray, content: np.ndarray) -> float:
    """SSIM of the luminance of two pictures of one size, in 0..255."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(luminance(picture), luminance(content), data_range=255.0))


def edge_correlation(picture: np.ndarray, content: np.ndarray) -> float:
    """Pearson correlation of the Sobel edge magnitudes of two pictures of one size (0 when one has no edges)."""
    from skimage.filters import sobel

    a, b = sobel(luminance(picture)).ravel(), sobel(luminance(content)).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def colour_histogram(rgb: np.ndarray, bins: int = COLOUR_BINS) -> np.ndarray:
    """The picture's colours as a distribution over bins^3 RGB cells (sums to 1)."""
    cells = np.clip(np.asarray(rgb, np.float64), 0, 255).reshape(-1, 3) * bins // 256
    index = (cells[:, 0] * bins + cells[:, 1]) * bins + cells[:, 2]
    counts = np.bincount(index.astype(np.int64), minlength=bins ** 3).astype(np.float64)
    return counts / counts.sum()


def colour_distances(pictures) -> np.ndarray:
    """Hellinger distances between the colour histograms of every two pictures: (N, N), 0 for the same colours
    anywhere, 1 for none shared."""
    roots = np.stack([np.sqrt(colour_histogram(p)) for p in pictures])
    return np.sqrt(np.maximum(0.0, 1.0 - roots @ roots.T))


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``colour_distances`` of two pictures."""
    return float(colour_distances([a, b])[0, 1])


def structure_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - the correlation of two pictures' edge magnitudes: 0 for edges in the same places, whatever
    their colours; about 1 for unrelated structure."""
    return 1.0 - edge_correlation(a, b)
