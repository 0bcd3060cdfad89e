"""End to end on 32 px images with seeded random weights: the inversions do what the paper says."""
import numpy as np
import pytest

from fmi_mx import tasks
from fmi_mx.losses import Term
from fmi_mx.errors import FmiError
from fmi_mx.optimise import Settings

pytestmark = pytest.mark.slow
IMAGE = "sample:astronaut"


@pytest.fixture(scope="module")
def runner(random_weights):
    return tasks.Runner(random_weights, "cpu")


def test_original_inversion_reconstructs_the_code(runner):
    """Acceptance (f): relative code error < 0.02 at relu1_1 of a 32 px image before the run stops."""
    result = runner.run(tasks.Inversion(IMAGE, ("relu1_1",), "original", size=32))
    assert result.outcome.stop_reason == "converged"
    assert result.metrics["code_error"]["relu1_1"] < 0.02
    assert result.image.shape == (32, 32, 3) and result.image.dtype == np.uint8


@pytest.mark.parametrize("layer", ["relu1_2", "relu2_1"])
def test_fmi_concentrates_energy_in_the_filter(runner, layer):
    """Acceptance (g): FMI of filter l (figure 3's filters 0..4) raises l's share of the energy at least 5x."""
    for index in range(5):
        result = runner.run(tasks.Inversion(IMAGE, (layer,), "feature_map", index, size=32))
        share = result.metrics["filter_energy_share"][layer]
        assert share["result"] >= 5 * share["content"], (index, share)


@pytest.mark.parametrize("mode,style,drop", [("random", None, 0.98), ("purposeful", "sample:brick", 0.9)])
def test_loss_falls_for_random_and_purposeful(runner, mode, style, drop):
    """Both targets are partly negative (r_k < 0; mean shifts), unreachable after a ReLU: the loss falls slowly."""
    task = tasks.Inversion(IMAGE, ("relu1_1", "relu2_1"), mode, style=style, size=32, seed=3,
                           optimise=Settings(log_every=1, max_iterations=30))
    result = tasks.Runner(runner.weights, log=lambda _: None).run(task)
    losses = [loss for _, loss, _ in result.outcome.history]
    assert np.all(np.isfinite(result.outcome.x)) and losses[-1] < drop * losses[0]


@pytest.mark.parametrize("mode", tasks.STYLE_MODES)
def test_style_transfer_moves_towards_the_style(runner, mode):
    task = tasks.StyleTransfer(IMAGE, "sample:brick", ("relu1_1", "relu2_1"), mode, size=32,
                               optimise=Settings(weight_decay=5e-3, max_iterations=60, log_every=1))
    result = tasks.Runner(runner.weights, log=lambda _: None).run(task)
    losses = [loss for _, loss, _ in result.outcome.history]
    assert losses[-1] < 0.5 * losses[0]
    key = "gram_distance" if mode == "gram" else "channel_sum_distance"
    assert all(np.isfinite(v) for v in result.metrics[key].values())


def test_graphs_are_bound_once_per_shape(runner):
    for k in range(2):
        runner.run(tasks.Inversion(IMAGE, ("relu1_1",), "feature_map", k, size=32,
                                   optimise=Settings(max_iterations=2)))
    keys = [key for key in runner._graphs if key[0] == (Term("code", "relu1_1"),)]
    assert len(keys) == 1


def test_tasks_validate_before_running():
    with pytest.raises(FmiError, match="filter 64 does not exist at relu1_1"):
        tasks.Inversion(IMAGE, ("relu1_1",), "feature_map", 64)
    with pytest.raises(FmiError, match="needs a style image"):
        tasks.Inversion(IMAGE, ("relu1_1",), "purposeful")
    with pytest.raises(FmiError, match="unknown style mode 'gatys'"):
        tasks.StyleTransfer(IMAGE, IMAGE, mode="gatys")

def test_too_small_image_is_refused(runner):
    with pytest.raises(FmiError, match="too small for relu5_1"):
        runner.run(tasks.Inversion(IMAGE, ("relu5_1",), size=8))
