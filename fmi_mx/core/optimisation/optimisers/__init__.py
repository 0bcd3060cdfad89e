"""The update rules of ``optimise``: ``sgd`` (the original's), ``lbfgs`` and ``adam``.

Each works on the batch in ``graph.data`` in place, on its device, and has ``previous`` (the images
before the last step) and ``step(update, running) -> (change, losses)``: each sample's
||x_t - x_t-1|| / ||x_t|| and its loss at x_t-1, on the host. ``running`` lists the samples not yet
stopped (the loop restores the others after each step). First-order methods (SGD, Adam) also step with
a count per sample (``step_slots``) and ``reset`` one sample, for continuous batching (``core.optimisation.stream``).
"""
from typing import Sequence

from ...image import transforms
from ...image.jitter import Jitter
from ...image.transforms import Transforms
from ..settings import Settings
from .adam import Adam
from .lbfgs import LBFGS
from .sgd import SGD

METHODS = {"sgd": SGD, "lbfgs": LBFGS, "adam": Adam}


def make(graph, s: Settings, seeds: Sequence[int]):
    """The method ``s.method`` on ``graph``; its gradients taken at randomly transformed images if the settings
    ask for that: in the graph (``transforms``), or for a plain jitter of pixels by shifting them on the host."""
    source = Transforms(graph, s.transform, seeds) if transforms.in_graph(s) else \
        Jitter(graph, s.transform.jitter, seeds) if s.transform.jitter else None
    method = METHODS[s.method](graph, s, source.gradient if source else graph.step)
    method.randomness = source  # a stream reseeds a slot's transforms when a new job takes it
    return method
