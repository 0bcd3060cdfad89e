"""The benchmark's pieces on tiny inputs (the real run is `make bench`)."""
import pytest

import baselines
import bench
import steps
from fmi_mx.core.objectives.losses import CodeTerm


@pytest.mark.slow
def test_variants_step_and_are_timed(random_weights):
    case = steps.Case("t", (CodeTerm("relu1_2"),))
    results = bench.measure(case, random_weights, steps.content_image(32),
                            [(steps.Ours, 1), (steps.Ours, 2), (baselines.Original, 1)], repeats=2, warmup=1)
    assert [(label, b) for label, b, _ in results] == [("fmi_mx", 1), ("fmi_mx", 2), ("original loop, our threads", 1)]
    assert all(seconds > 0 for _, _, seconds in results)


def test_mxnet_default_threads_halves_on_x86(monkeypatch):
    monkeypatch.setattr(baselines.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(baselines.platform, "machine", lambda: "x86_64")
    assert baselines.mxnet_default_threads() == 4
    monkeypatch.setattr(baselines.platform, "machine", lambda: "aarch64")
    assert baselines.mxnet_default_threads() == 8
