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


def test_levers_table_compares_against_lbfgs_50_and_sums_the_layers():
    import levers

    rows = [{"layer": layer, "lever": levers.BASE, "speed": 1.0, "evaluations": 1.0, "loss": 0.0, "seconds": seconds}
            for layer, seconds in (("relu2_2", 2.0), ("relu3_2", 3.0), ("relu4_2", 5.0))]
    rows.append({"layer": "relu3_2", "lever": "L-BFGS 25 at 32 px alone", "speed": 6.5, "evaluations": 1.04,
                 "loss": None, "seconds": 0.4})
    rows.append({"layer": "relu3_2", "lever": "L-BFGS 25", "speed": 1.9, "evaluations": 1.04, "loss": 0.0098,
                 "seconds": 1.6})
    text = levers.table(rows, "VGG-19")
    assert "| relu3_2 | L-BFGS 25 at 32 px alone | 6.50x | 1.04 | another size |" in text
    assert "| relu3_2 | L-BFGS 25 | 1.90x | 1.04 | +0.98% |" in text
    assert "apart 10.00 s, together 15.00 s (0.67x)" in text
