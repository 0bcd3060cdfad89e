"""The SGD updates are the original's rule, the schedule drops at update 11, NaNs stop the run."""
import numpy as np
import pytest

from fmi_mx.backend.mx import mx
from fmi_mx.core.optimisation.loop import initial_image, minimise
from fmi_mx.core.optimisation.optimisers.sgd import learning_rate
from fmi_mx.core.optimisation.settings import Settings
from quadratic import Quadratic


def test_learning_rate_schedule():
    s = Settings()
    assert [learning_rate(t, s) for t in (1, 10)] == [0.1, 0.1]
    assert learning_rate(11, s) == pytest.approx(0.09) and learning_rate(21, s) == pytest.approx(0.081)
    scheduler = mx.lr_scheduler.FactorScheduler(step=10, factor=0.9, base_lr=0.1)
    for t in range(1, 60):
        assert learning_rate(t, s) == pytest.approx(scheduler(t), rel=1e-12)


def test_three_updates_follow_the_rule_by_hand():
    s = Settings.from_flat(max_iterations=3, stop_eps=0.0)
    graph = Quadratic((1, 3, 4, 4))
    x0 = initial_image((1, 3, 4, 4), seed=0, s=s)
    assert np.abs(x0).max() <= 0.1 and x0.std() > 0.03
    outcome, = minimise(graph, x0, s)

    x, mom = x0.astype(np.float64), np.zeros(x0.shape)
    for t in (1, 2, 3):
        g = np.clip(graph.gradient(x), -10, 10)
        mom = 0.9 * mom - 0.1 * (g + 5e-4 * x)
        x = x + mom
    assert outcome.iterations == 3 and outcome.stop_reason == "max_iterations"
    np.testing.assert_allclose(outcome.x, x, rtol=1e-5, atol=1e-6)
    assert [h[0] for h in outcome.history] == [1, 2, 3]  # every update, with its loss falling
    assert outcome.history[0][1] > outcome.history[1][1] > outcome.history[2][1]


def test_learning_rate_drops_at_update_11():
    """Eleven updates equal MXNet's own SGD optimiser with FactorScheduler, which drops lr at update 11."""
    s = Settings.from_flat(max_iterations=11, stop_eps=0.0)
    graph = Quadratic((1, 3, 4, 4))
    x0 = initial_image((1, 3, 4, 4), seed=1, s=s)
    ours = minimise(graph, x0, s)[0].x
    sgd = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=5e-4, clip_gradient=10.0,
                           lr_scheduler=mx.lr_scheduler.FactorScheduler(step=10, factor=0.9))
    x = mx.nd.array(x0)
    state = sgd.create_state(0, x)
    for _ in range(11):
        sgd.update(0, x, mx.nd.array(graph.gradient(x.asnumpy())), state)
    assert sgd._get_lr(0) == pytest.approx(0.09)
    np.testing.assert_allclose(ours, x.asnumpy(), rtol=1e-5, atol=1e-6)
    ten = minimise(Quadratic((1, 3, 4, 4)), x0, Settings.from_flat(max_iterations=10, stop_eps=0.0))[0].x
    assert not np.allclose(ten, ours)


def test_stops_on_small_relative_change():
    s = Settings.from_flat(stop_eps=0.05)
    outcome, = minimise(Quadratic((1, 3, 4, 4)), initial_image((1, 3, 4, 4), 0, s), s)
    assert outcome.stop_reason == "converged" and 1 < outcome.iterations < s.stop.max_iterations


def test_nan_stops_and_keeps_the_last_finite_image():
    s = Settings.from_flat(stop_eps=0.0, max_iterations=50)
    x0 = initial_image((1, 3, 4, 4), 0, s)
    clean, = minimise(Quadratic((1, 3, 4, 4)), x0, Settings.from_flat(stop_eps=0.0, max_iterations=4))
    broken, = minimise(Quadratic((1, 3, 4, 4), nan_at=5), x0, s)
    assert broken.stop_reason == "non_finite" and broken.iterations == 4
    np.testing.assert_array_equal(broken.x, clean.x)
