"""The update rules of ``optimise``: ``sgd`` (the original's), ``lbfgs`` and ``adam``.

Each works on the batch in ``graph.data`` in place, on its device, and has ``previous`` (the images
before the last step) and ``step(counts, running) -> (change, losses)``: each sample's
||x_t - x_t-1|| / ||x_t|| and its loss at x_t-1, on the host. ``counts`` gives each sample's own update
count and ``running`` the samples not yet stopped (the loop holds the others still). A method that
``refills`` steps each sample on its own and can ``reset`` one, so a new job may take a slot mid-run.
"""
from typing import Sequence

from ...image.transforms import Transforms
from ..settings import Settings
from .adam import Adam
from .lbfgs import LBFGS
from .sgd import SGD

METHODS = {"sgd": SGD, "lbfgs": LBFGS, "adam": Adam}
STREAMING_METHODS = tuple(name for name, method in METHODS.items() if method.refills)


def refills(method: str) -> bool:
    """Can a new job take a slot of ``method`` mid-run (continuous batching)?"""
    return method in STREAMING_METHODS


def make(graph, s: Settings, seeds: Sequence[int]):
    """The method ``s.method`` on ``graph``; its gradients taken at randomly transformed images (the graph's
    transform stage) if the settings ask for any transform."""
    source = Transforms(graph, s.transform, seeds) if s.transform.any() else None
    method = METHODS[s.method](graph, s, source.gradient if source else graph.step)
    method.randomness = source  # a stream reseeds a slot's transforms when a new job takes it
    return method
