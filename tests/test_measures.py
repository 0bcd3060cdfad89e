"""The pictures' measures against pictures whose answer is known: colourfulness, complexity (noise and
stripes low, natural textures high), content kept, and colour against structure distances."""
import numpy as np
import pytest
import skimage.data

from fmi_mx.claim import measures

SIZE = 64
Y, X = np.mgrid[0:SIZE, 0:SIZE].astype(float)


def _grey(picture: np.ndarray) -> np.ndarray:
    return np.stack([picture] * 3, axis=-1)


def _natural(name: str, top: int, left: int) -> np.ndarray:
    return _grey(getattr(skimage.data, name)()[top:top + SIZE, left:left + SIZE].astype(float))


NOISE = _grey(np.random.default_rng(0).integers(0, 256, (SIZE, SIZE)).astype(float))
STRIPES = {f"stripes {period} px": _grey(127 + 120 * np.sin(2 * np.pi * X / period)) for period in (4, 8, 16)}
STRIPES["square stripes"] = _grey(255.0 * ((X // 4) % 2))
CHECKERBOARDS = {f"checkerboard {cell} px": _grey(255.0 * ((X // cell + Y // cell) % 2)) for cell in (2, 4, 8)}
NATURAL = {f"{name} {top},{left}": _natural(name, top, left)
           for name in ("brick", "grass", "gravel") for top, left in ((0, 0), (200, 200))}


def test_colourfulness_against_hasler_and_suesstrunk():
    assert measures.colourfulness(np.full((8, 8, 3), 128.0)) == 0.0  # grey
    red = np.zeros((8, 8, 3))
    red[..., 0] = 255
    # rg = 255, yb = 127.5 everywhere: no spread, M = 0.3 * sqrt(255^2 + 127.5^2)
    assert measures.colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))
    halves = np.zeros((8, 8, 3))
    halves[:4, :, 0] = 255  # half red, half black: rg and yb each spread over {0, x}
    expected = np.sqrt(255 ** 2 / 4 + 127.5 ** 2 / 4) + 0.3 * np.hypot(127.5, 63.75)
    assert measures.colourfulness(halves) == pytest.approx(expected)


def test_orientation_entropy_from_stripes_to_isotropic():
    stripes = 127 + 100 * np.sin(X / 3.0)
    assert measures.orientation_entropy(_grey(stripes)) < 0.05  # one orientation
    rings = 127 + 100 * np.sin(np.hypot(X - 32, Y - 32) / 2.0)
    assert measures.orientation_entropy(rings) > 0.95 and measures.orientation_entropy(NOISE) > 0.95
    halves = np.where(Y < 32, 127 + 100 * np.sin(X / 3.0), 127 + 100 * np.sin(Y / 3.0))
    # two orientations: log 2 / log 16 = 0.25, plus the seam between the halves
    assert measures.orientation_entropy(halves) == pytest.approx(np.log(2) / np.log(16), abs=0.1)
    assert np.isnan(measures.orientation_entropy(np.full((8, 8), 9.0)))


def test_spectral_order_is_none_for_white_noise_and_full_for_one_frequency():
    assert measures.spectral_order(NOISE) < 0.05
    assert all(measures.spectral_order(p) > 0.99 for p in STRIPES.values())
    assert np.isnan(measures.spectral_order(np.full((16, 16), 7.0)))


def test_complexity_scores_noise_and_stripes_low_and_natural_textures_high():
    noise = measures.complexity(NOISE)
    stripes = {name: measures.complexity(p) for name, p in STRIPES.items()}
    checkerboards = {name: measures.complexity(p) for name, p in CHECKERBOARDS.items()}
    natural = {name: measures.complexity(p) for name, p in NATURAL.items()}
    assert noise < 0.05
    assert max(stripes.values()) < 0.05, stripes
    assert all(0.2 < v < 0.6 for v in checkerboards.values()), checkerboards  # two orientations and harmonics
    assert min(natural.values()) > 0.45, natural
    assert min(natural.values()) > max(noise, *stripes.values()) + 0.4
    assert np.mean(list(natural.values())) > max(checkerboards.values())
    assert np.isnan(measures.complexity(np.full((16, 16, 3), 50.0)))


def test_content_similarity_is_one_for_the_picture_and_low_for_noise():
    picture = NATURAL["brick 0,0"]
    assert measures.content_ssim(picture, picture) == pytest.approx(1.0)
    assert measures.edge_correlation(picture, picture) == pytest.approx(1.0)
    assert measures.content_ssim(NOISE, picture) < 0.2 and abs(measures.edge_correlation(NOISE, picture)) < 0.15
    assert measures.edge_correlation(np.full((8, 8, 3), 3.0), picture[:8, :8]) == 0.0  # no edges at all


def test_a_recolouring_is_colour_and_a_rearrangement_is_structure():
    picture = skimage.data.astronaut()[100:100 + SIZE, 150:150 + SIZE].astype(float)
    recoloured = picture[..., ::-1]  # the same edges in other colours
    rearranged = np.random.default_rng(1).permutation(picture.reshape(-1, 3)).reshape(picture.shape)  # same colours
    assert measures.colour_distance(picture, picture) == pytest.approx(0.0, abs=1e-6)
    assert measures.colour_distance(picture, rearranged) == pytest.approx(0.0, abs=1e-6)
    assert measures.colour_distance(picture, recoloured) > 0.5
    assert measures.structure_distance(picture, recoloured) < 0.2
    assert measures.structure_distance(picture, rearranged) > 0.8
    red, blue = np.zeros((8, 8, 3)), np.zeros((8, 8, 3))
    red[..., 0], blue[..., 2] = 255, 255
    assert measures.colour_distance(red, blue) == pytest.approx(1.0)  # no colour shared
    assert measures.colour_histogram(picture).sum() == pytest.approx(1.0)
