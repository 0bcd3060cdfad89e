"""Every loss term's symbol: its value matches the term's float64 reference and its gradient finite differences."""
import numpy as np
import pytest

from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.objectives import losses
from fmi_mx.core.objectives.losses import ChannelObjective, ChannelSumTerm, CodeTerm, GramTerm, NeuronObjective

from reference import code

SHAPE = (1, 3, 16, 16)


def _setup(weights, term):
    graph = LossGraph(weights, [term], SHAPE)
    rng = np.random.default_rng(11)
    source = rng.uniform(-100, 100, SHAPE).astype(np.float32)
    target = term.target(graph.codes(source)[term.layer][0])
    graph.set_targets([target[None]])
    x = rng.uniform(-100, 100, SHAPE).astype(np.float32)
    return graph, target, x


def _loss(weights, term, target, x):
    """The term's value in float64 numpy, network included."""
    return term.value(code(x[0], weights.arrays, term.layer), target)


@pytest.mark.parametrize("term", [CodeTerm("relu1_1", 1.0), CodeTerm("relu2_1", 0.3),
                                  GramTerm("relu1_1", 2.0), GramTerm("relu2_1", 1.0),
                                  ChannelSumTerm("relu1_1", 1.0), ChannelSumTerm("relu2_1", 5.0)])
def test_value_and_gradient(biased_weights, term):
    graph, target, x = _setup(biased_weights, term)
    graph.data[:] = x
    graph.step()
    mx_value = float(graph.loss_outputs()[0].asnumpy().sum())
    grad = graph.grad.asnumpy().astype(np.float64)
    assert mx_value == pytest.approx(_loss(biased_weights, term, target, x), rel=1e-5)

    rng = np.random.default_rng(12)
    for _ in range(3):  # central differences along random directions
        d = rng.normal(size=SHAPE)
        d /= np.linalg.norm(d)
        eps = 0.01
        fd = (_loss(biased_weights, term, target, x + eps * d) - _loss(biased_weights, term, target, x - eps * d)) / (2 * eps)
        assert np.sum(grad * d) == pytest.approx(fd, rel=1e-4)


def test_terms_add_up(biased_weights):
    """Several layers in one graph: the gradient is the sum of the single-term gradients."""
    terms = [CodeTerm("relu1_1"), CodeTerm("relu2_1")]
    rng = np.random.default_rng(13)
    x = rng.uniform(-100, 100, SHAPE).astype(np.float32)
    targets = [rng.uniform(0, 50, (1,) + t.target_shape(16, 16)).astype(np.float32) for t in terms]
    grads = []
    for chosen in ([0], [1], [0, 1]):
        graph = LossGraph(biased_weights, [terms[i] for i in chosen], SHAPE)
        graph.set_targets([targets[i] for i in chosen])
        graph.data[:] = x
        graph.step()
        grads.append(graph.grad.asnumpy())
    np.testing.assert_allclose(grads[2], grads[0] + grads[1], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kind", [CodeTerm, GramTerm, ChannelSumTerm, ChannelObjective, NeuronObjective])
def test_every_term_answers_the_whole_contract(kind):
    """Statistic, target, its shape, memory, symbol and reference value: none left to a base class."""
    from fmi_mx.backend.mx import mx

    term = kind("relu1_1", 2.0)
    code = np.random.default_rng(0).uniform(0, 1, (64, 4, 4)).astype(np.float32)
    target = term.target(code)
    assert target.shape == term.target_shape(4, 4) and term.plan_floats(64, 4, 4) >= 0
    assert np.isfinite(term.value(code, target))
    symbol = term.symbol(mx.sym.Variable("f"), mx.sym.Variable("t"), 4, 4)
    assert symbol.list_arguments() == ["f", "t"]


def test_every_head_answers_the_heads_contract_and_every_term_the_terms():
    """No method of the contract is left to ``Head`` or ``Term``: the prior on the image answers its name,
    symbol, reference value and memory as the terms on codes do."""
    from fmi_mx.backend.mx import mx

    def concrete(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from concrete(sub)

    heads = set(concrete(losses.Head)) - {losses.Term, losses.SquaredTerm}
    assert losses.TotalVariation in heads and CodeTerm in heads
    for cls in heads:
        contract = [(losses.Head, name) for name in ("plan_floats", "symbol", "value")]
        contract += [(losses.Term, name) for name in ("statistic", "target_shape")] if issubclass(cls, losses.Term) else []
        for base, name in contract:
            assert getattr(cls, name) is not getattr(base, name), f"{cls.__name__}.{name} is left to {base.__name__}"
        assert cls.NAME, cls.__name__
    tv = losses.TotalVariation(0.5, 1.5)
    image = np.random.default_rng(1).uniform(-1, 1, (3, 5, 6)).astype(np.float32)
    assert tv.plan_floats(3, 5, 6) == tv.BUFFERS * 90 and np.isfinite(tv.value(image, None))
    got = tv.symbol(mx.sym.Variable("x"), None, 5, 6).bind(mx.cpu(), {"x": mx.nd.array(image[None])}).forward()[0]
    np.testing.assert_allclose(got.asnumpy(), [tv.value(image, None)], rtol=1e-5)
