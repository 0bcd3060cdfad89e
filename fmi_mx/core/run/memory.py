"""Memory plan of an executor, estimated before binding, so a sweep picks its batch size and a job
that cannot fit fails at once instead of crashing midway.

``planned`` is fitted to MXNet 1.9.1's CPU memory planner (``executor.debug_str()``, "Total N MB
allocated"): it keeps every convolution and pooling output for the backward pass (ReLU runs in place)
and two buffers of the largest activation for the gradients; checked within 25% in tests/test_memory.py.
The process holds more than that plan (``resident_bytes``), and ``estimate`` counts it, so a budget
bounds the resident memory.
"""
import re
from typing import Sequence, Tuple

import numpy as np

from ..network import vgg
from ...errors import FmiError
from .graphkey import GraphKey
from ..rules import number

FLOAT = 4  # bytes
MAX_BATCH = 8
DEFAULT_MAX_MEMORY = 4096.0  # MB one worker's executors may use


def plan_bytes(net: vgg.Network, layers: Sequence[str], shape: Tuple[int, int, int, int]) -> int:
    """Activations and gradient buffers the executor allocates for the network up to the deepest layer."""
    batch, _, height, width = shape
    kept, largest = 0, 0
    for spec in net.up_to(layers):
        c, h, w = vgg.output_shape(spec.name, height, width)
        if spec.kind in ("conv", "pool"):
            kept += c * h * w
        largest = max(largest, c * h * w)
    return FLOAT * batch * (kept + 2 * largest)


def term_bytes(terms, shape: Tuple[int, int, int, int]) -> int:
    """Buffers of the loss terms: Gram matrices and their difference (gram), the broadcast gradient of
    the channel sums (channel_sum), the gradient of the code (both); a code term runs in place."""
    batch, _, height, width = shape
    return FLOAT * batch * sum(t.plan_floats(*vgg.output_shape(t.layer, height, width)) for t in terms)


def argument_bytes(terms, shape: Tuple[int, int, int, int]) -> int:
    """The image, its gradient and the targets (the weights are counted once per device, not here)."""
    batch, _, height, width = shape
    targets = sum(int(np.prod(t.target_shape(height, width))) for t in terms)
    return FLOAT * batch * (2 * 3 * height * width + targets)


def weight_bytes(net: vgg.Network, layers: Sequence[str]) -> int:
    """The convolution weights up to the deepest layer, as held once per device."""
    last = net.deepest(layers).index
    return FLOAT * sum(int(np.prod(s)) for k, s in net.conv_shapes().items()
                       if net.layer(k.rsplit("_", 1)[0]).index <= last)


def state_bytes(key: GraphKey) -> int:
    """What an optimiser other than the default SGD keeps beyond SGD's momentum and previous image (L-BFGS
    its pairs, gradients and line-search buffers, Adam one more moment) and a prior its differences.
    SGD's own state is within the estimate's margin."""
    return FLOAT * int(np.prod(key.shape)) * key.state_images


def resident_bytes(terms, shape: Tuple[int, int, int, int]) -> int:
    """What a process really holds for an executor beyond the plan MXNet reports: oneDNN's blocked copies
    and the loss heads' gradient temporaries, RESIDENT[kind] buffers of the term's layer each. Fitted to
    the resident-set growth of a fresh process over two steps (benchmarks/worker_memory.py, tests/test_memory.py)."""
    batch, _, height, width = shape
    return FLOAT * batch * sum(t.RESIDENT_BUFFERS * int(np.prod(vgg.output_shape(t.layer, height, width)))
                               for t in terms)


def planned(net: vgg.Network, terms, shape: Tuple[int, int, int, int]) -> int:
    """Bytes MXNet's memory plan and the bound arguments take (what ``reported`` reads back), weights excluded."""
    return plan_bytes(net, [t.layer for t in terms], shape) + term_bytes(terms, shape) + argument_bytes(terms, shape)


def estimate(net: vgg.Network, key: GraphKey) -> int:
    """Bytes one bound graph holds, weights excluded: the plan, what the process holds beyond it, and
    the optimiser's and prior's state."""
    shape = key.network_shape
    return planned(net, key.terms, shape) + resident_bytes(key.terms, shape) + state_bytes(key)


def encoder_bytes(net: vgg.Network, layers: Sequence[str], shape: Tuple[int, int, int, int]) -> int:
    """A forward-only encoder: at most the activations a loss graph keeps, and its input."""
    return plan_bytes(net, layers, shape) + FLOAT * int(np.prod(shape))


def reported(graph) -> int:
    """What MXNet says a bound graph holds: its memory plan plus the image, gradient and target arrays."""
    total = re.findall(r"Total (\d+) MB allocated", graph.executor.debug_str())
    arrays = [graph.data, graph.grad] + list(graph.target_arrays)
    return int(total[-1]) * 2 ** 20 + sum(int(np.prod(a.shape)) * FLOAT for a in arrays)


def check_budget(max_memory_mb: float) -> float:
    """A memory budget is a finite number of MB above 0."""
    number(0, low_open=True, note="MB")(max_memory_mb, "max_memory")
    return max_memory_mb


def batch_size(net: vgg.Network, key: GraphKey, max_memory_mb: float, cap: int = MAX_BATCH,
               what: str = "this job") -> int:
    """The largest batch (at most ``cap``) of the graph ``key`` whose estimate, weights included, fits
    ``max_memory_mb``."""
    budget = max_memory_mb * 2 ** 20 - weight_bytes(net, key.layers)
    one = estimate(net, key.sized(1))
    if one > budget:
        need = (one + weight_bytes(net, key.layers)) / 2 ** 20
        raise FmiError(f"{what} needs an estimated {need:.0f} MB at batch size 1 ({key.image[1]}x{key.image[2]} px, "
                       f"up to {net.deepest(key.layers).name} of {net.title}), over max_memory {max_memory_mb:.0f} MB")
    return max(1, min(cap, int(budget // one)))
