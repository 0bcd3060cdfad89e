"""Each code modification equals its formula, written out again here, on small arrays."""
import numpy as np
import pytest

from fmi_mx.core.objectives import codes
from fmi_mx.errors import FmiError


@pytest.fixture
def code():
    return np.random.default_rng(0).uniform(0, 2, (4, 3, 2)).astype(np.float32)


def test_original_is_a_copy(code):
    target = codes.original(code)
    np.testing.assert_array_equal(target, code)
    assert target is not code


def test_feature_map(code):
    target = codes.feature_map(code, 2)
    for m in range(3):
        for n in range(2):
            assert target[2, m, n] == pytest.approx(sum(code[k, m, n] for k in range(4)), rel=1e-6)
    assert not target[[0, 1, 3]].any()


def test_random_follows_the_formula_and_keeps_dead_channels_zero(code):
    code[1] = 0.0  # a dead channel: S_1 = 0
    code[3, 0, 0] = 0.0  # a dead neuron
    v = np.random.default_rng(7).normal(3.0, 1000.0, 4)
    r = v / v.sum()
    s_k = code.sum(axis=(1, 2))
    s = s_k.sum()
    target = codes.random(code, np.random.default_rng(7))
    assert np.all(np.isfinite(target))
    assert not target[1].any() and target[3, 0, 0] == 0
    for k in (0, 2, 3):
        np.testing.assert_allclose(target[k], s * r[k] * code[k] / s_k[k], rtol=1e-5)


def test_random_is_seeded(code):
    a = codes.random(code, np.random.default_rng(1))
    np.testing.assert_array_equal(a, codes.random(code, np.random.default_rng(1)))
    assert not np.allclose(a, codes.random(code, np.random.default_rng(2)))


def test_purposeful_moves_channels_by_rank_and_takes_style_means():
    content = np.zeros((3, 2, 2), np.float32)
    content[0] = [[1, 1], [1, 1]]  # sum 4: rank 1
    content[1] = [[0, 2], [0, 0]]  # sum 2: rank 0
    content[2] = [[3, 3], [3, 0]]  # sum 9: rank 2
    style = np.zeros((3, 2, 2), np.float32)
    style[0] = 5.0  # sum 20: rank 2
    style[1] = 1.0  # sum 4: rank 0
    style[2] = [[2, 2], [2, 2]]  # sum 8: rank 1
    target = codes.purposeful(content, style)
    # rank 0 (content 1) -> style channel 1; rank 1 (content 0) -> 2; rank 2 (content 2) -> 0
    expected = np.stack([content[2], content[1], content[0]])
    expected = expected - expected.mean(axis=(1, 2), keepdims=True) + style.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(target, expected, rtol=1e-6)


def test_purposeful_breaks_ties_by_channel_index():
    content = np.ones((3, 1, 2), np.float32)  # all three channel sums tie
    content[:, 0, 0] = [1, 2, 3]
    content[:, 0, 1] = [3, 2, 1]
    style = np.ones((3, 1, 2), np.float32)  # ties too
    target = codes.purposeful(content, style)
    # stable ranks are the channel order on both sides, so every channel stays put
    np.testing.assert_allclose(target, content - content.mean(axis=(1, 2), keepdims=True) + 1.0)


def test_modify_dispatches_on_the_mode(code):
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(codes.modify("original", code), code)
    np.testing.assert_array_equal(codes.modify("feature_map", code, filter_index=1), codes.feature_map(code, 1))
    np.testing.assert_array_equal(codes.modify("random", code, rng=np.random.default_rng(3)), codes.random(code, rng))
    np.testing.assert_array_equal(codes.modify("purposeful", code, style_code=code[::-1]),
                                  codes.purposeful(code, code[::-1]))


def test_an_unknown_mode_is_an_error_not_the_original():
    with pytest.raises(FmiError, match="unknown mode 'featuremap'.*Did you mean 'feature_map'"):
        codes.modify("featuremap", np.ones((2, 3, 3), np.float32))
    assert codes.MODES == ("original", "feature_map", "random", "purposeful")
    assert [m for m in codes.MODES if codes.modification(m).uses_filter] == ["feature_map"]
    assert [m for m in codes.MODES if codes.modification(m).uses_style] == ["purposeful"]
