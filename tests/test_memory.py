"""The memory plan: estimates within 25% of what MXNet reports, batch sizes, and the max_memory error."""
import pytest

from fmi_mx.core import memory, tasks
from fmi_mx.core.engine import Runner
from fmi_mx.cli import main
from fmi_mx.errors import FmiError
from fmi_mx.core.graph import LossGraph
from fmi_mx.core.losses import Term


@pytest.mark.parametrize("terms,shape", [
    ((Term("code", "relu5_1"),), (1, 3, 128, 128)),
    ((Term("code", "relu3_2"),), (5, 3, 96, 128)),
    ((Term("code", "relu2_2"), Term("gram", "relu1_1"), Term("channel_sum", "relu4_1")), (2, 3, 64, 96)),
])
def test_estimate_is_within_25_percent_of_mxnet(random_weights, terms, shape):
    graph = LossGraph(random_weights, terms, shape)
    assert abs(memory.estimate(terms, shape) / memory.reported(graph) - 1) < 0.25


def test_batch_size_follows_the_budget():
    terms, shape = (Term("code", "relu5_1"),), (1, 3, 256, 256)
    sample, weights = memory.estimate(terms, shape), memory.weight_bytes(["relu5_1"])
    assert memory.batch_size(terms, shape, 100_000) == memory.MAX_BATCH
    assert memory.batch_size(terms, shape, (weights + 1.01 * sample) / 2 ** 20) == 1
    assert memory.batch_size(terms, shape, (weights + 3.5 * sample) / 2 ** 20) == 3
    with pytest.raises(FmiError, match=r"needs an estimated \d+ MB at batch size 1 \(256x256 px, up to relu5_1\), "
                                        r"over max_memory 50 MB"):
        memory.batch_size(terms, shape, 50)


def test_invert_over_max_memory_fails_with_one_line(tmp_path, capsys):
    out = tmp_path / "x.png"
    code = main(["invert", "sample:astronaut", "--layers", "relu5_1", "--weights", "random", "--size", "256",
                 "--max-memory", "50", "--out", str(out)])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("note:")]
    assert code == 2 and len(err) == 1 and "over max_memory 50 MB" in err[0] and not out.exists()


def test_sweep_job_over_max_memory_fails_at_once(tmp_path, capsys):
    config = tmp_path / "big.yaml"
    config.write_text("name: big\nweights: random\nsize: 256\nmax_memory: 80\npanels:\n"
                      "  - {mode: feature_map, contents: [sample:astronaut], layers: [relu1_1, relu5_1], filters: [0]}\n")
    assert main(["run", str(config), "--runs", str(tmp_path / "runs")]) == 1
    captured = capsys.readouterr()
    assert "over max_memory 80 MB" in captured.out and "1 job(s) failed" in captured.err
    assert len(list((tmp_path / "runs" / "big").glob("*/result.json"))) == 1  # relu1_1 fits and ran
    assert len(list((tmp_path / "runs" / "big").glob("*/failed.json"))) == 1


def test_runner_refuses_a_batch_over_budget(random_weights):
    runner = Runner(random_weights, max_memory=60)
    batch = [tasks.Inversion(content="sample:astronaut", layers=("relu2_1",), mode="feature_map", filter=k, size=128)
             for k in range(8)]
    with pytest.raises(FmiError, match="a batch of 8 does not fit max_memory 60 MB"):
        runner.run_batch(batch)
