"""The optimisers beyond the original (L-BFGS, Adam), the total-variation prior and jitter."""
import dataclasses

import numpy as np
import pytest

from fmi_mx.backend.mx import mx
from fmi_mx.core.objectives import losses
from fmi_mx.core import tasks
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.image import transforms
from fmi_mx.core.run.graphkey import View
from fmi_mx.core.objectives.losses import CodeTerm
from fmi_mx.core.optimisation.loop import batch, initial_image, minimise
from fmi_mx.core.optimisation.optimisers import lbfgs
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.errors import Invalid
from quadratic import Quadratic

SHAPE = (1, 3, 4, 4)


def relative_loss(graph, x):
    graph.data[:] = x
    value = graph.sample_losses()[0]
    graph.data[:] = 0
    return value / graph.sample_losses()[0]


def test_lbfgs_takes_newtons_step_on_an_isotropic_quadratic():
    """The first step (scaled steepest descent) teaches it the curvature; the second lands on the minimum."""
    s = Settings.from_flat(method="lbfgs", weight_decay=0.0, stop_eps=0.0, max_iterations=2)
    graph = Quadratic(SHAPE, low=2.0, high=2.0)
    x0 = initial_image(SHAPE, 0, s)
    one, = minimise(graph, batch(x0), s.replace(max_iterations=1))
    two, = minimise(graph, batch(x0), s)
    assert np.abs(one.x - graph.b).max() > 1.0
    np.testing.assert_allclose(two.x, graph.b, atol=1e-4)


def test_lbfgs_converges_on_a_quadratic_at_the_conjugate_gradient_rate():
    """Condition number 9 in 192 dimensions: conjugate gradients bound the loss after k steps by
    4 ((sqrt(9) - 1) / (sqrt(9) + 1))^(2k) = 4 / 4^k of the start; 30 L-BFGS steps reach 1e-10."""
    shape = (1, 3, 8, 8)
    graph = Quadratic(shape, low=1.0, high=3.0)
    s = Settings.from_flat(method="lbfgs", weight_decay=0.0, stop_eps=0.0, max_iterations=30)
    outcome, = minimise(graph, batch(initial_image(shape, 0, s)), s)
    assert relative_loss(graph, outcome.x) < 1e-10
    assert outcome.evaluations <= 1.25 * outcome.iterations  # the unit step is nearly always taken
    plain = Settings.from_flat(stop_eps=0.0, max_iterations=30, weight_decay=0.0, learning_rate=0.05, momentum=0.0)
    assert relative_loss(graph, minimise(graph, batch(initial_image(shape, 0, s)), plain)[0].x) > 1e-6


def test_the_compact_inverse_hessian_is_the_two_loop_recursion():
    """Byrd, Nocedal & Schnabel's compact form gives the direction of Nocedal's two-loop recursion."""
    rng = np.random.default_rng(3)
    size, m = 40, 6
    hessian = np.diag(rng.uniform(0.5, 20.0, size))
    steps = rng.normal(size=(m, size))
    turns = steps @ hessian + 0.1 * rng.normal(size=(m, size))  # s.y > 0: a convex curvature
    g = rng.normal(size=size)
    gamma = steps[-1] @ turns[-1] / (turns[-1] @ turns[-1])
    q, alphas = g.copy(), []
    for s_i, y_i in zip(steps[::-1], turns[::-1]):
        alphas.append(s_i @ q / (s_i @ y_i))
        q -= alphas[-1] * y_i
    r = gamma * q
    for (s_i, y_i), alpha in zip(zip(steps, turns), alphas[::-1]):
        r += s_i * (alpha - y_i @ r / (s_i @ y_i))
    p, q = lbfgs.coefficients(steps @ g, turns @ g, steps @ turns.T, turns @ turns.T, gamma)
    np.testing.assert_allclose(gamma * g + steps.T @ p + gamma * turns.T @ q, r, rtol=1e-9)


def test_adam_follows_the_rule_by_hand():
    s = Settings.from_flat(method="adam", max_iterations=3, stop_eps=0.0, adam_learning_rate=0.5)
    graph = Quadratic(SHAPE)
    x0 = initial_image(SHAPE, 0, s)
    outcome, = minimise(graph, batch(x0), s)
    x, m, v = x0.astype(np.float64), np.zeros(SHAPE), np.zeros(SHAPE)
    for t in (1, 2, 3):
        g = graph.gradient(x) + s.weight_decay * x
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        x = x - 0.5 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(outcome.x, x, rtol=1e-5, atol=1e-5)


def test_the_total_variation_prior_matches_numpy_and_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 20, (2, 3, 5, 6))
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = x[0, 0, 2, 1]  # a zero difference: the beta < 2 gradient stays finite
    for beta in (1.0, 1.5, 2.0):
        data = mx.sym.Variable("data")
        ex = losses.TotalVariation(0.3, beta).symbol(data).simple_bind(mx.cpu(), data=x.shape, type_dict={"data": np.float64})
        ex.arg_dict["data"][:] = x
        value = ex.forward(is_train=True)[0].asnumpy()
        ex.backward()
        grad = ex.grad_dict["data"].asnumpy()
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(value, [losses.TotalVariation(0.3, beta).value(x[i]) for i in range(2)],
                                   rtol=1e-10)
        for index in [(0, 0, 0, 0), (0, 1, 2, 3), (1, 2, 4, 5), (1, 0, 4, 0), (0, 2, 0, 5)]:
            h, bumped = 1e-5, x.copy()
            bumped[index] += h
            up = losses.TotalVariation(0.3, beta).value(bumped[index[0]])
            bumped[index] -= 2 * h
            down = losses.TotalVariation(0.3, beta).value(bumped[index[0]])
            assert grad[index] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)


def test_the_prior_is_one_more_loss_head_of_the_graph(random_weights):
    x = np.random.default_rng(1).normal(0, 30, (2, 3, 16, 16)).astype(np.float32)
    terms = (CodeTerm("relu1_1"),)
    plain = LossGraph(random_weights, terms, x.shape)
    prior = LossGraph(random_weights, terms, x.shape, prior=losses.TotalVariation(0.01, 1.5))
    plain.data[:], prior.data[:] = x, x
    plain.step()
    prior.step()
    tv = [losses.TotalVariation(0.01, 1.5).value(x[i]) for i in range(2)]
    np.testing.assert_allclose(prior.sample_losses() - plain.sample_losses(), tv, rtol=1e-4)
    data = mx.sym.Variable("data")  # the gradients add up: the prior's alone, in float64, is the difference
    alone = losses.TotalVariation(0.01, 1.5).symbol(data).simple_bind(mx.cpu(), data=x.shape, type_dict={"data": np.float64})
    alone.arg_dict["data"][:] = x.astype(np.float64)
    alone.forward(is_train=True)
    alone.backward()
    difference = prior.grad.asnumpy().astype(np.float64) - plain.grad.asnumpy()
    np.testing.assert_allclose(difference, alone.grad_dict["data"].asnumpy(), atol=1e-3 * np.abs(plain.grad.asnumpy()).max())
    assert prior.current_codes()["relu1_1"].shape == (2, 64, 16, 16)


@pytest.mark.slow
def test_lbfgs_reaches_the_sgd_loss_in_fewer_iterations(random_weights):
    runner = Runner(random_weights)
    task = tasks.Inversion(content="sample:astronaut", layers=("relu1_1",), size=32)
    sgd = runner.run(task)
    target = sgd.metrics["final_loss"]
    lbfgs = runner.run(dataclasses.replace(task, optimise=Settings.from_flat(method="lbfgs", stop_eps=0.0, stop_loss=target)))
    assert lbfgs.outcome.stop_reason == "reached_loss"
    assert lbfgs.metrics["final_loss"] <= target * 1.001
    assert lbfgs.outcome.iterations * 3 <= sgd.outcome.iterations  # measured: 10 against 82


@pytest.mark.slow
@pytest.mark.parametrize("settings", [Settings.from_flat(method="lbfgs"), Settings.from_flat(method="adam", max_iterations=40),
                                      Settings.from_flat(jitter=3, max_iterations=40),
                                      Settings.from_flat(method="lbfgs", tv_weight=1e-3, tv_beta=1.5)],
                         ids=["lbfgs", "adam", "sgd+jitter", "lbfgs+tv"])
def test_a_batch_gives_the_images_of_separate_runs(random_weights, settings):
    batch = [tasks.Inversion(content="sample:astronaut", layers=("relu1_2",), mode="feature_map", filter=k, size=32,
                             seed=k, optimise=settings) for k in (48, 15, 30)]
    runner = Runner(random_weights)
    alone = [runner.run(t) for t in batch]
    together = runner.run_batch(batch)
    assert [r.outcome.iterations for r in together] == [r.outcome.iterations for r in alone]
    assert [r.outcome.stop_reason for r in together] == [r.outcome.stop_reason for r in alone]
    for a, b in zip(alone, together):
        assert np.linalg.norm(b.outcome.x - a.outcome.x) / np.linalg.norm(a.outcome.x) < 1e-4


def test_a_jitter_alone_is_a_whole_pixel_shift_in_the_graph_with_the_mean_colour_uncovered():
    """The jitter is the graph's one transform stage: the network sees the image moved by the drawn (dy, dx),
    zeros (the mean colour) where it uncovers, and a job whose jitter once meant a circular shift has a new id."""
    s = Settings.from_flat(jitter=3)
    rng = np.random.default_rng([4, 3])
    matrix = transforms.draw(rng, s.transform, 5, 7)
    dy, dx = np.random.default_rng([4, 3]).integers(-3, 4, 2)
    assert dy or dx
    x = np.arange(3 * 5 * 7, dtype=np.float32).reshape(1, 3, 5, 7) + 1
    stage = transforms.symbol(mx.sym.Variable("data"), View("pixel", 1.0, 0), 5, 7)
    seen = stage.bind(mx.cpu(), {"data": mx.nd.array(x), "affine": mx.nd.array(matrix.reshape(1, 6))}).forward()[0]
    expected = np.zeros_like(x)  # output (i, j) reads input (i + dy, j + dx)
    rows, cols = slice(max(0, -dy), 5 - max(0, dy)), slice(max(0, -dx), 7 - max(0, dx))
    expected[..., rows, cols] = x[..., max(0, dy):5 + min(0, dy), max(0, dx):7 + min(0, dx)]
    np.testing.assert_allclose(seen.asnumpy(), expected, atol=1e-4)
    assert View.of(s).pad == 0 and View.of(Settings()).pad is None
    assert s.identity()["transform_stage"] == 2 and "transform_stage" not in Settings().identity()


def test_settings_rules_and_job_ids():
    with pytest.raises(Invalid, match="jitter and the other random transforms need method sgd or adam"):
        Settings.from_flat(method="lbfgs", jitter=2)
    with pytest.raises(Invalid, match="unknown method 'bfgs'.*Did you mean 'lbfgs'"):
        Settings.from_flat(method="bfgs")
    with pytest.raises(Invalid, match="tv_beta must be a finite number >= 1, not 0.5"):
        Settings.from_flat(tv_beta=0.5)
    assert Settings.from_flat(method="adam").identity()["method"] == "adam"


def test_every_method_named_in_the_settings_has_an_update_rule():
    from fmi_mx.core.optimisation import optimisers, settings

    assert set(settings.METHODS) == set(optimisers.METHODS)


@pytest.mark.slow
def test_api_and_cli_take_the_optimiser_options(tmp_path, capsys):
    import json

    import fmi_mx
    from fmi_mx.cli import main
    from fmi_mx.errors import FmiError

    _, record = fmi_mx.invert("sample:astronaut", layers="relu1_1", weights="random", size=32, max_iterations=3,
                              method="lbfgs", tv_weight=0.5, options={"lbfgs_history": 3})
    assert record["task"]["optimise"]["method"] == "lbfgs" and record["task"]["optimise"]["lbfgs_history"] == 3
    assert record["task"]["optimise"]["tv_weight"] == 0.5 and record["iterations"] == 3
    with pytest.raises(FmiError, match="unknown optimiser option 'lbfgs_histry'.*Did you mean 'lbfgs_history'"):
        fmi_mx.invert("sample:astronaut", layers="relu1_1", weights="random", size=32, options={"lbfgs_histry": 3})
    out = tmp_path / "a.png"
    assert main(["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", "random", "--size", "32",
                 "--max-iterations", "3", "--method", "adam", "--jitter", "2", "--option", "adam_learning_rate=2.5",
                 "--out", str(out)]) == 0
    optimise = json.loads(out.with_suffix(".json").read_text())["task"]["optimise"]
    assert (optimise["method"], optimise["jitter"], optimise["adam_learning_rate"]) == ("adam", 2, 2.5)
    with pytest.raises(SystemExit) as exit_info:
        main(["invert", "sample:astronaut", "--layers", "relu1_1", "--option", "nonsense"])
    assert exit_info.value.code == 2 and "expected NAME=VALUE, got 'nonsense'" in capsys.readouterr().err
