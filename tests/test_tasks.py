"""End to end on 32 px images with seeded random weights: the inversions do what the paper says."""
import numpy as np
import pytest

from fmi_mx.core import tasks
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.objectives.losses import ChannelSumTerm, CodeTerm
from fmi_mx.errors import FmiError
from fmi_mx.core.optimisation.settings import Settings

pytestmark = pytest.mark.slow
IMAGE = "sample:astronaut"


@pytest.fixture(scope="module")
def runner(random_weights):
    return Runner(random_weights, "cpu")


def test_original_inversion_reconstructs_the_code(runner):
    """Relative code error < 0.02 at relu1_1 of a 32 px image before the run stops."""
    result = runner.run(tasks.Inversion(content=IMAGE, layers=("relu1_1",), mode="original", size=32))
    assert result.outcome.stop_reason == "converged"
    assert result.metrics["code_error"]["relu1_1"] < 0.02
    assert result.image.shape == (32, 32, 3) and result.image.dtype == np.uint8


@pytest.mark.parametrize("layer", ["relu1_2", "relu2_1"])
def test_fmi_concentrates_energy_in_the_filter(runner, layer):
    """FMI of filter l (figure 3's filters 0..4) raises l's share of the energy at least 5x."""
    for index in range(5):
        result = runner.run(tasks.Inversion(content=IMAGE, layers=(layer,), mode="feature_map", filter=index, size=32))
        share = result.metrics["filter_energy_share"][layer]
        assert share["result"] >= 5 * share["content"], (index, share)


@pytest.mark.parametrize("mode,style,drop", [("random", None, 0.98), ("purposeful", "sample:brick", 0.9)])
def test_loss_falls_for_random_and_purposeful(runner, mode, style, drop):
    """Both targets are partly negative (r_k < 0; mean shifts), unreachable after a ReLU: the loss falls slowly."""
    task = tasks.Inversion(content=IMAGE, layers=("relu1_1", "relu2_1"), mode=mode, style=style, size=32, seed=3,
                           optimise=Settings.from_flat(log_every=1, max_iterations=30))
    result = Runner(runner.weights, log=lambda _: None).run(task)
    losses = [loss for _, loss, _ in result.outcome.history]
    assert np.all(np.isfinite(result.outcome.x)) and losses[-1] < drop * losses[0]


@pytest.mark.parametrize("mode", tasks.STYLE_MODES)
def test_style_transfer_moves_towards_the_style(runner, mode):
    task = tasks.StyleTransfer(content=IMAGE, style="sample:brick", style_layers=("relu1_1", "relu2_1"), mode=mode,
                               size=32, optimise=Settings.from_flat(weight_decay=5e-3, max_iterations=60, log_every=1))
    result = Runner(runner.weights, log=lambda _: None).run(task)
    losses = [loss for _, loss, _ in result.outcome.history]
    assert losses[-1] < 0.5 * losses[0]
    key = "gram_distance" if mode == "gram" else "channel_sum_distance"
    assert all(np.isfinite(v) for v in result.metrics[key].values())


def test_graphs_are_bound_once_per_shape(runner):
    for k in range(2):
        runner.run(tasks.Inversion(content=IMAGE, layers=("relu1_1",), mode="feature_map", filter=k, size=32,
                                   optimise=Settings.from_flat(max_iterations=2)))
    keys = [key for key in runner.graphs.keys() if getattr(key, "terms", None) == (CodeTerm("relu1_1"),)]
    assert len(keys) == 1 and keys[0].batch == 1


def test_tasks_validate_before_running():
    with pytest.raises(FmiError, match="filter 64 does not exist at relu1_1"):
        tasks.Inversion(content=IMAGE, layers=("relu1_1",), mode="feature_map", filter=64)
    with pytest.raises(FmiError, match="needs a style image"):
        tasks.Inversion(content=IMAGE, layers=("relu1_1",), mode="purposeful")
    with pytest.raises(FmiError, match="unknown style mode 'gatys'"):
        tasks.StyleTransfer(content=IMAGE, style=IMAGE, mode="gatys")
    with pytest.raises(FmiError, match="unknown mode 'fmi'"):
        tasks.Inversion(content=IMAGE, layers=("relu1_1",), mode="fmi")
    with pytest.raises(FmiError, match="needs a filter index"):
        tasks.Inversion(content=IMAGE, layers=("relu1_1",), mode="feature_map")
    with pytest.raises(TypeError):
        tasks.Inversion(IMAGE, ("relu1_1",))  # keyword arguments only


def test_every_problem_of_a_task_is_reported_at_once():
    with pytest.raises(FmiError) as info:
        tasks.Inversion(content=IMAGE, layers=("relu6_1", "relu1_1"), mode="feature_map", filter=64, size=0,
                        pooling="min")
    fields = [field for field, _, _ in info.value.problems]
    assert fields == ["size", "pooling", "layers", "filter"]
    assert "filter 64 does not exist at relu1_1 (allowed: 0..63)" in str(info.value)


def test_kinds_answer_for_themselves():
    inversion = tasks.Inversion(content=IMAGE, layers=("relu1_1", "relu2_1"), mode="feature_map", filter=2)
    style = tasks.StyleTransfer(content=IMAGE, style="sample:brick", mode="pmci", style_layers=("relu1_1",))
    assert inversion.layers_read() == ("relu1_1", "relu2_1") and style.layers_read() == ("relu2_2", "relu1_1")
    assert inversion.terms(32, 32) == (CodeTerm("relu1_1"), CodeTerm("relu2_1"))
    assert style.terms(32, 32) == (CodeTerm("relu2_2", 10.0 / 256), ChannelSumTerm("relu1_1"))
    assert inversion.labels()["layer"] == "relu1_1+relu2_1" and style.labels()["filter"] is None
    assert tasks.kind_of("pmci") is tasks.StyleTransfer and tasks.kind_of("random") is tasks.Inversion
    with pytest.raises(FmiError, match="unknown mode 'gatys'"):
        tasks.kind_of("gatys")

def test_too_small_image_is_refused(runner):
    with pytest.raises(FmiError, match="too small for relu5_1"):
        runner.run(tasks.Inversion(content=IMAGE, layers=("relu5_1",), size=8))


@pytest.mark.parametrize("mode", ["gram", "pmci"])
def test_style_scores_are_one_for_the_content_and_zero_for_the_style(mode):
    """The sidecar's style score: the result's distance to the style over the content's own distance."""
    rng = np.random.default_rng(3)
    task = tasks.StyleTransfer(content=IMAGE, style="sample:brick", style_layers=("relu1_1", "relu2_1"), mode=mode)
    shapes = {"relu1_1": (64, 8, 8), "relu2_1": (128, 4, 4), "relu2_2": (128, 4, 4)}
    content, style = ({k: rng.random(s).astype(np.float32) for k, s in shapes.items()} for _ in range(2))
    terms = task.terms(8, 8)
    targets = task.targets(terms, content, style)
    halfway = {k: (content[k] + style[k]) / 2 for k in shapes}
    for final, want in ((content, 1.0), (style, 0.0)):
        metrics = task.metrics(terms, targets, content, style, final)
        for name in ("gram", "channel_sum"):
            assert metrics[f"{name}_style_score"] == pytest.approx({"relu1_1": want, "relu2_1": want}, abs=1e-9)
    between = task.metrics(terms, targets, content, style, halfway)["channel_sum_style_score"]
    assert between == pytest.approx({"relu1_1": 0.5, "relu2_1": 0.5})  # channel sums are linear in the code


def test_denoising_scaled_with_the_size_is_off_by_default_and_keeps_ids():
    from fmi_mx.sweep import jobs

    plain = tasks.StyleTransfer(content=IMAGE, style="sample:brick", size=128)
    scaled = tasks.StyleTransfer(content=IMAGE, style="sample:brick", size=128, denoise_size=512)
    assert plain.denoise_weight == plain.remove_noise == 0.2 and scaled.denoise_weight == pytest.approx(0.05)
    assert "denoise_size" not in plain.identity() and scaled.identity()["denoise_size"] == 512
    assert jobs.job_id(plain, "w") != jobs.job_id(scaled, "w")
