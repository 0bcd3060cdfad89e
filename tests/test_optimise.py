"""The SGD updates are the original's rule, the schedule drops at update 11, NaNs stop the run."""
import numpy as np
import pytest

from fmi_mx.backend.mx import mx
from fmi_mx.core.optimisation.loop import Job, batch, initial_image, minimise
from fmi_mx.errors import FmiError
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
    outcome, = minimise(graph, batch(x0), s)

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
    ours = minimise(graph, batch(x0), s)[0].x
    sgd = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=5e-4, clip_gradient=10.0,
                           lr_scheduler=mx.lr_scheduler.FactorScheduler(step=10, factor=0.9))
    x = mx.nd.array(x0)
    state = sgd.create_state(0, x)
    for _ in range(11):
        sgd.update(0, x, mx.nd.array(graph.gradient(x.asnumpy())), state)
    assert sgd._get_lr(0) == pytest.approx(0.09)
    np.testing.assert_allclose(ours, x.asnumpy(), rtol=1e-5, atol=1e-6)
    ten = minimise(Quadratic((1, 3, 4, 4)), batch(x0), Settings.from_flat(max_iterations=10, stop_eps=0.0))[0].x
    assert not np.allclose(ten, ours)


def test_stops_on_small_relative_change():
    s = Settings.from_flat(stop_eps=0.05)
    outcome, = minimise(Quadratic((1, 3, 4, 4)), batch(initial_image((1, 3, 4, 4), 0, s)), s)
    assert outcome.stop_reason == "converged" and 1 < outcome.iterations < s.stop.max_iterations


def test_nan_stops_and_keeps_the_last_finite_image():
    s = Settings.from_flat(stop_eps=0.0, max_iterations=50)
    x0 = initial_image((1, 3, 4, 4), 0, s)
    clean, = minimise(Quadratic((1, 3, 4, 4)), batch(x0), Settings.from_flat(stop_eps=0.0, max_iterations=4))
    broken, = minimise(Quadratic((1, 3, 4, 4), nan_at=5), batch(x0), s)
    assert broken.stop_reason == "non_finite" and broken.iterations == 4
    np.testing.assert_array_equal(broken.x, clean.x)


def test_a_queue_refills_slots_and_a_filler_is_held_still():
    """Three jobs through two slots: the third takes the first slot that frees, and ends as it does alone;
    a filler slot keeps its start image and is never reported."""
    s = Settings.from_flat(stop_eps=0.0, max_iterations=5)
    x0 = initial_image((3, 3, 4, 4), 0, s)
    alone = [minimise(Quadratic((1, 3, 4, 4)), batch(x0[i:i + 1]), s)[0] for i in range(3)]
    graph = Quadratic((1, 3, 4, 4))
    graph.data = mx.nd.zeros((2, 3, 4, 4))  # two slots of the same quadratic
    graph.grad = mx.nd.zeros((2, 3, 4, 4))
    graph.a, graph.b = np.concatenate([graph.a] * 2), np.concatenate([graph.b] * 2)
    heard = []
    queued = minimise(graph, batch(x0), s, on_stop=lambda ended: heard.extend(e.job.tag for e in ended))
    assert heard == [0, 1, 2]
    for a, b in zip(alone, queued):
        np.testing.assert_allclose(b.x, a.x, rtol=1e-6)
        assert b.iterations == a.iterations == 5
    filler = Job(x0[2:3], filler=True)
    outcomes = minimise(graph, [Job(x0[0:1]), filler], s)
    assert len(outcomes) == 1 and outcomes[0].batch_size == 1
    np.testing.assert_array_equal(graph.data[1:2].asnumpy(), x0[2:3])


def test_lbfgs_refuses_a_job_mid_run():
    s = Settings.from_flat(method="lbfgs", stop_eps=0.0, max_iterations=2)
    with pytest.raises(FmiError, match="method lbfgs cannot take a new job into a slot mid-run"):
        minimise(Quadratic((1, 3, 4, 4)), batch(initial_image((2, 3, 4, 4), 0, s)), s)
