"""The update rules of ``optimise``: ``sgd`` (the original's), ``lbfgs`` and ``adam``.

Each works on the batch in ``graph.data`` in place, on its device, and has ``previous`` (the images
before the last step) and ``step(update, running) -> (change, losses)``: each sample's
||x_t - x_t-1|| / ||x_t|| and its loss at x_t-1, on the host. ``running`` lists the samples not yet
stopped (the loop restores the others after each step).
"""
from typing import Sequence

from ..jitter import Jitter
from ..settings import Settings
from .adam import Adam
from .lbfgs import LBFGS
from .sgd import SGD

METHODS = {"sgd": SGD, "lbfgs": LBFGS, "adam": Adam}


def make(graph, s: Settings, seeds: Sequence[int]):
    """The method ``s.method`` on ``graph``; its gradients jittered by ``s.transform.jitter`` px if that is set."""
    jitter = s.transform.jitter
    gradient = Jitter(graph, jitter, seeds).gradient if jitter else graph.step
    return METHODS[s.method](graph, s, gradient)
