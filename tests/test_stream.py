"""Continuous batching: a job that stops hands its slot to the next, and every job still ends as a separate
run of it does (iterations equal, images within the 1e-4 that batching allows)."""
import json

import numpy as np
import pytest

from fmi_mx.cli import main
from fmi_mx.core import tasks
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.optimisation.settings import Settings

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("settings", [Settings(), Settings.from_flat(method="adam", jitter=2, max_iterations=60)],
                         ids=["sgd", "adam+jitter"])
def test_a_stream_gives_the_results_of_separate_runs(random_weights, settings):
    """Seven FMIs that stop between 115 and 212 updates through three slots: four of them start in a slot
    another job left, mid-way through the batch's updates."""
    batch = [tasks.Inversion(content="sample:astronaut", layers=("relu1_2",), mode="feature_map", filter=k, size=32,
                             seed=k, optimise=settings) for k in (48, 15, 0, 36, 30, 7, 9)]
    runner = Runner(random_weights)
    alone = [runner.run(t) for t in batch]
    heard = []
    streamed = runner.run_stream(batch, [runner.inputs(batch[0])] * len(batch), slots=3,
                                 on_result=lambda j, r: heard.append(j))
    assert sorted(heard) == list(range(7))
    if len({r.outcome.iterations for r in alone}) > 1:
        assert heard != list(range(7))  # each saved as it stops, not in the order given
    for a, b in zip(alone, streamed):
        assert b.outcome.iterations == a.outcome.iterations and b.outcome.stop_reason == a.outcome.stop_reason
        assert np.linalg.norm(b.outcome.x - a.outcome.x) / np.linalg.norm(a.outcome.x) < 1e-4
        assert b.metrics["code_error"] == pytest.approx(a.metrics["code_error"], rel=1e-4)
    assert streamed[0].batch_info["continuous"] and streamed[0].batch_info["batch_size"] == 3


def test_a_sweep_streams_its_jobs_with_one_key_and_keeps_their_ids(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: s\nweights: random:0\nsize: 32\nbatch_size: 2\noptimise: {max_iterations: 30}\n"
                      "panels:\n  - {mode: feature_map, contents: [sample:astronaut], layers: [relu1_2], filters: 0-4}\n")
    runs = {}
    for continuous in ("false", "true"):
        root = tmp_path / continuous
        assert main(["run", str(config), "--runs", str(root), "--set", f"continuous={continuous}"]) == 0
        runs[continuous] = {p.parent.name: json.loads(p.read_text()) for p in (root / "s").glob("*/result.json")}
    assert set(runs["true"]) == set(runs["false"]) and len(runs["true"]) == 5
    for job_id, record in runs["true"].items():
        plain = runs["false"][job_id]
        assert record["executor"]["continuous"] and "continuous" not in plain["executor"]
        assert record["iterations"] == plain["iterations"]
        assert record["final_loss"] == pytest.approx(plain["final_loss"], rel=1e-4)
