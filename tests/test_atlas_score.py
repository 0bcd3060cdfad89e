"""The texture-identity score, validated on pictures whose answer is known: crops of distinct textures
(every filter recognised: accuracy 1.0) and pure noise (chance)."""
import numpy as np
import pytest
import skimage.data

from fmi_mx.atlas import score
from fmi_mx.atlas.texture import layer_score
from fmi_mx.core.image import images
from fmi_mx.core.run.engine import Runner

TEXTURES = ("brick", "grass", "gravel", "stripes", "grating", "dots", "blobs", "checks")
# Three "content images": three places in each texture. The brick photo darkens towards its bottom and
# grass and gravel are alike, so with an untrained network 64-96 px crops, or crops at the very edge,
# score 0.90-0.98 here; 128 px crops inside the pictures score 1.0.
CROPS = ((0.2, 0.2), (0.5, 0.8), (0.8, 0.4))
SIZE = 128


def _procedural(name: str) -> np.ndarray:
    """Stationary 512 px textures, distinct from each other and from scikit-image's three."""
    y, x = np.mgrid[0:512, 0:512].astype(float)
    rng = np.random.default_rng(TEXTURES.index(name))
    if name == "stripes":
        gray = 127 + 120 * np.sign(np.sin(x / 3.0))
    elif name == "grating":
        gray = 127 + 120 * np.sin((x + y) / 9.0)
    elif name == "dots":
        gray = 30 + 200 * ((np.hypot(x % 16 - 8, y % 16 - 8) < 3))
    elif name == "checks":
        gray = 40 + 180 * (((x // 24) + (y // 24)) % 2)
    else:  # blobs: smoothed noise, in colour
        from scipy.ndimage import gaussian_filter

        noise = gaussian_filter(rng.normal(size=(512, 512, 3)), (6, 6, 0))
        return 127 + 100 * noise / noise.std()
    return gray


def _texture(name: str, corner) -> np.ndarray:
    """A SIZE x SIZE crop of a texture, at a place given as fractions of its free room."""
    picture = getattr(skimage.data, name)() if hasattr(skimage.data, name) else _procedural(name)
    rgb = images.as_rgb(np.clip(np.rint(picture[..., :3] if picture.ndim == 3 else picture), 0, 255).astype(np.uint8))
    y, x = (int(f * (extent - SIZE)) for f, extent in zip(corner, rgb.shape[:2]))
    return np.ascontiguousarray(rgb[y:y + SIZE, x:x + SIZE])


@pytest.fixture(scope="module")
def runner(random_weights):
    return Runner(random_weights)


def test_distinct_textures_are_recognised_every_time(runner):
    grid = [[_texture(name, corner) for corner in CROPS] for name in TEXTURES]
    result = layer_score(runner, grid, list(range(len(TEXTURES))))
    assert result.summary["identity_accuracy"] == 1.0 and result.summary["mean_reciprocal_rank"] == 1.0
    assert result.summary["between_within_ratio"] > 1.5
    assert result.summary["shuffled_accuracy"] < 0.5  # the control destroys it


def test_noise_sits_at_chance(runner):
    """16 "filters" of pure noise, 3 images each: 96 ranked pairs; accuracy and MRR within 0.1 of chance."""
    rng = np.random.default_rng(0)
    grid = [[rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in CROPS] for _ in range(16)]
    s = layer_score(runner, grid, list(range(16))).summary
    assert abs(s["identity_accuracy"] - s["chance_accuracy"]) < 0.1
    assert abs(s["mean_reciprocal_rank"] - s["chance_mrr"]) < 0.1
    assert 0.9 < s["between_within_ratio"] < 1.1


def test_ranks_and_chance_by_hand():
    # 3 filters x 2 images; filter 0 matches itself, filter 1 is nearer to filter 2's other image
    d = np.full((3, 2, 3, 2), 5.0)
    for k in range(3):
        d[k, 0, k, 1] = d[k, 1, k, 0] = 1.0
    d[1, 0, 2, 1] = 0.5
    r = score.ranks(d)
    assert r[0, 0, 1] == 1 and r[1, 0, 1] == 2 and r[1, 1, 0] == 1 and np.isnan(r[0, 0, 0])
    result = score.score(d, [0, 1, 2])
    assert result.accuracy.tolist() == [1.0, 0.5, 1.0] and result.mrr.tolist() == [1.0, 0.75, 1.0]
    assert result.summary["chance_accuracy"] == pytest.approx(1 / 3)
    assert result.summary["chance_mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_distance_matches_its_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 5)), rng.normal(size=(2, 7))
    d = score.distances([a, b])
    expected = sum(np.linalg.norm(x[0] - x[1]) / (np.linalg.norm(x[0]) + np.linalg.norm(x[1])) for x in (a, b))
    assert d[0, 1] == pytest.approx(expected) and d[1, 0] == pytest.approx(expected) and d[0, 0] == 0
    code = rng.normal(size=(4, 3, 2))
    flat = code.reshape(4, -1)
    np.testing.assert_allclose(score.descriptor(code), (flat @ flat.T / (4 * 6)).ravel())


def test_results_of_a_filter_that_did_not_fire_are_left_out():
    """Filter 0 fires only on image 0: its results from images 1 and 2 are the same flat grey, which would
    "match" each other (distance 0) and count as identity. Left out, filter 0 has no pair to score, the
    others keep theirs, and the summary counts the two results left out."""
    d = np.full((3, 3, 3, 3), 5.0)
    for k in range(3):
        for i in range(3):
            for j in range(3):
                d[k, i, k, j] = 1.0 if i != j else 0.0
    d[0, :, 0, :] = 4.5  # filter 0's results are far from each other ...
    d[0, 1, 0, 2] = d[0, 2, 0, 1] = 0.0  # ... but its two greys are identical
    d[0, 0, 0, 1] = 4.4  # and one of its real pairs would be right, barely
    blind = score.score(d, [0, 1, 2])
    assert blind.ranks[0, 1, 2] == 1 and blind.summary["dead_results"] == 0  # the greys count as identity
    valid = np.ones((3, 3), bool)
    valid[0, 1:] = False
    result = score.score(d, [0, 1, 2], valid=valid)
    assert np.isnan(result.ranks[0]).all() and np.isnan(result.accuracy[0])
    assert result.accuracy[1:].tolist() == [1.0, 1.0]
    assert result.summary["dead_results"] == 2 and result.summary["filters_scored"] == 2
    assert result.summary["identity_accuracy"] == 1.0  # the mean over the filters that were scored
    np.testing.assert_array_equal(score.score(d, [0, 1, 2], valid=np.ones((3, 3), bool)).ranks, blind.ranks)


def test_the_shuffled_control_sits_at_chance_on_perfectly_identifiable_data():
    """Each filter's results are identical across pictures and far from every other filter's: identity is
    perfect, and with labels shuffled the accuracy is what labels that mean nothing give, 1/K."""
    for n_filters, n_images in ((16, 3), (32, 3), (8, 5)):
        d = np.ones((n_filters, n_images, n_filters, n_images))
        for k in range(n_filters):
            d[k, :, k, :] = 0.0
        summary = score.score(d, list(range(n_filters))).summary
        assert summary["identity_accuracy"] == 1.0
        assert abs(summary["shuffled_accuracy"] - 1.0 / n_filters) < 0.25 / n_filters


def test_ranks_count_the_other_filters_closer_than_the_right_one():
    rng = np.random.default_rng(4)
    d = rng.random((6, 4, 6, 4))
    valid = rng.random((6, 4)) > 0.2
    r = score.ranks(d, valid)
    for k in range(6):
        for i in range(4):
            for j in range(4):
                if i == j or not (valid[k, i] and valid[k, j]):
                    assert np.isnan(r[k, i, j])
                else:
                    assert r[k, i, j] == 1 + sum(d[k, i, other, j] < d[k, i, k, j] for other in range(6) if other != k)


def test_style_metrics_place_the_content_at_one_and_the_style_at_zero():
    from fmi_mx.atlas import style

    rng = np.random.default_rng(5)
    shapes = {name: (8 * (i + 1), 6, 6) for i, name in enumerate(style.STYLE_LAYERS + (style.CONTENT_LAYER,))}
    content, picture = ({k: rng.random(s) for k, s in shapes.items()} for _ in range(2))
    assert style.metrics(content, content, picture) == pytest.approx(
        {"gram_style_distance": 1.0, "channel_sum_style_distance": 1.0, "content_error": 0.0})
    at_style = style.metrics(picture, content, picture)
    assert at_style["gram_style_distance"] == pytest.approx(0.0, abs=1e-6)
    assert at_style["channel_sum_style_distance"] == pytest.approx(0.0, abs=1e-6)
    assert at_style["content_error"] > 0.3


def test_a_filters_nearest_neighbours_are_the_filters_whose_textures_lie_closest():
    """Filters 0 and 1 make nearly the same texture, filter 2 another, filter 3 a third; filter 1's result
    on image 1 did not fire and is left out of its distances."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0], [0.1], [1.0], [3.0]])
    points = centres[:, None, :] + 0.01 * rng.normal(size=(4, 2, 1))  # (filter, image, feature)
    flat = points.reshape(8, 1)
    d = np.abs(flat - flat.T).reshape(4, 2, 4, 2)
    valid = np.ones((4, 2), bool)
    valid[1, 1] = False
    between = score.filter_distances(d, valid)
    assert between[0, 1] == pytest.approx(np.mean(np.abs(points[0, :, 0][:, None] - points[1, :1, 0][None])))
    assert np.isnan(between[2, 2])
    order, dist = score.nearest(between, 2)
    assert order.tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    assert np.all(np.diff(dist, axis=1) >= 0)
    result = score.score(d, [10, 11, 12, 13], valid=valid)
    assert result.neighbours[0].tolist() == [1, 2, 3]  # by place in the filters given
