"""The benchmark's pieces on tiny inputs (the real run is `make bench`)."""
import pytest

from fmi_mx import bench
from fmi_mx.losses import Term


def test_conv_flops_count_the_forward_convolutions():
    assert bench.conv_flops(["relu1_1"], 8, 4) == 2 * 3 * 64 * 9 * 8 * 4
    two = 2 * 3 * 64 * 9 * 64 + 2 * 64 * 64 * 9 * 64 + 2 * 64 * 128 * 9 * 16
    assert bench.conv_flops(["relu2_1"], 8, 8) == two


@pytest.mark.slow
def test_variants_step_and_are_timed(random_weights):
    case = bench.Case("t", (Term("code", "relu1_2"),))
    results = bench.measure(case, random_weights, bench._content(32),
                            [(bench.Ours, 1), (bench.Ours, 2), (bench.Original, 1)], repeats=2, warmup=1)
    assert [(label, b) for label, b, _ in results] == [("fmi_mx", 1), ("fmi_mx", 2), ("original loop, our threads", 1)]
    assert all(seconds > 0 for _, _, seconds in results)


def test_mxnet_default_threads_halves_on_x86(monkeypatch):
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(bench.platform, "machine", lambda: "x86_64")
    assert bench.mxnet_default_threads() == 4
    monkeypatch.setattr(bench.platform, "machine", lambda: "aarch64")
    assert bench.mxnet_default_threads() == 8
