"""A graph's gradient against central differences along random directions: the check that a symbol and
its MXNet gradient say the same thing."""
import numpy as np
import pytest


def graph_loss(graph):
    """The loss ``graph`` computes at a value of its optimised variable (all loss heads summed)."""
    def loss(v: np.ndarray) -> float:
        graph.data[:] = v
        graph.executor.forward(is_train=False)
        return float(sum(out.asnumpy().sum() for out in graph.loss_outputs()))
    return loss


def assert_gradient_matches(graph, x: np.ndarray, rng: np.random.Generator, eps: float, directions: int = 3,
                            rel: float = 2e-2, abs_tolerance: float = 1e-4) -> None:
    """MXNet's gradient at ``x``, projected on random unit directions, equals central differences of the loss."""
    loss = graph_loss(graph)
    graph.data[:] = x
    graph.step()
    grad = graph.grad.asnumpy().astype(np.float64)
    for _ in range(directions):
        d = rng.normal(size=x.shape)
        d /= np.linalg.norm(d)
        fd = (loss(x + eps * d) - loss(x - eps * d)) / (2 * eps)
        assert np.sum(grad * d) == pytest.approx(fd, rel=rel, abs=abs_tolerance)
