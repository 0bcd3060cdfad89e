"""Batched inversions give the images and iteration counts of separate runs."""
import numpy as np
import pytest

from fmi_mx.core import tasks
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.optimisation.settings import Settings

pytestmark = pytest.mark.slow


def test_a_batch_of_five_equals_five_separate_runs(random_weights):
    """Filters 48 and 30 stop at about 210 and 115 updates; frozen samples stay put."""
    batch = [tasks.Inversion(content="sample:astronaut", layers=("relu1_2",), mode="feature_map", filter=k, size=32)
             for k in (48, 15, 0, 36, 30)]
    runner = Runner(random_weights)
    alone = [runner.run(t) for t in batch]
    together = runner.run_batch(batch)
    iterations = [r.outcome.iterations for r in alone]
    assert max(iterations) - min(iterations) > 60  # one sample stops much earlier than another
    assert [r.outcome.iterations for r in together] == iterations
    assert all(r.outcome.batch_size == 5 for r in together)
    for a, b in zip(alone, together):
        assert np.linalg.norm(b.outcome.x - a.outcome.x) / np.linalg.norm(a.outcome.x) < 1e-4
        assert b.metrics["code_error"]["relu1_2"] == pytest.approx(a.metrics["code_error"]["relu1_2"], rel=1e-3)


def test_style_and_random_batches_match_too(random_weights):
    settings = Settings.from_flat(max_iterations=15, weight_decay=5e-3)
    runner = Runner(random_weights)
    for batch in ([tasks.StyleTransfer(content="sample:astronaut", style=s, style_layers=("relu1_1", "relu2_1"),
                                       mode="pmci", size=32,
                                       optimise=settings) for s in ("sample:brick", "sample:gravel")],
                  [tasks.Inversion(content="sample:astronaut", layers=("relu2_1",), mode="random", seed=k, size=32,
                                   optimise=Settings.from_flat(max_iterations=15)) for k in (1, 2, 3)]):
        alone = [runner.run(t).outcome.x for t in batch]
        together = [r.outcome.x for r in runner.run_batch(batch)]
        for a, b in zip(alone, together):
            assert np.linalg.norm(b - a) / np.linalg.norm(a) < 1e-4


def test_tasks_of_different_keys_cannot_share_a_batch(random_weights):
    runner = Runner(random_weights)
    with pytest.raises(ValueError, match="batch keys"):
        runner.run_batch([tasks.Inversion(content="sample:astronaut", layers=("relu1_1",), size=32),
                          tasks.Inversion(content="sample:astronaut", layers=("relu1_2",), size=32)])


def test_each_sample_is_handed_over_as_soon_as_it_stops(random_weights, tmp_path):
    """Per-sample saving: the job that stops first is saved while the other still runs."""
    from fmi_mx.sweep import jobs
    from fmi_mx.sweep.jobs import Job

    batch = [Job(f"job{k}", 0, tasks.Inversion(content="sample:astronaut", layers=("relu1_2",), mode="feature_map",
                                                 filter=k, size=32)) for k in (48, 30)]
    runner = Runner(random_weights)
    seen = []

    def saved(job, summary):
        seen.append((job.id, summary["iterations"], sorted(p.parent.name for p in tmp_path.glob("*/result.json"))))

    inputs = [runner.inputs(job.task) for job in batch]
    jobs.execute(batch, inputs, runner, tmp_path, "t", on_saved=saved)
    assert [s[0] for s in seen] == ["job30", "job48"]  # filter 30 stops at about 115 updates, 48 at about 210
    assert seen[0][1] < seen[1][1] - 60
    assert seen[0][2] == ["job30"] and seen[1][2] == ["job30", "job48"]
