"""The executors one device keeps: bound graphs, reused while they fit the worker's memory budget.

Before a new executor is bound, the estimates of those kept plus the new one, plus the weights they
read (held once per device, however many executors share them), are compared with ``max_memory``;
the least recently used executors are released until it fits, and weights no kept executor reads
go with them. MXNet 1.9.1 gives back most of a released executor's memory, not all: about a
fifth of it stays with the process (benchmarks/worker_memory.py; a plain ``simple_bind`` loop
leaks the same way), so a worker that binds and releases often grows beyond its estimate by that.
"""
import gc
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Sequence, Tuple

from . import memory, vgg
from .graph import LossGraph
from .losses import Term
from .weights import Weights

MB = 2 ** 20


@dataclass
class Bound:
    """A bound graph, its memory estimate (bytes, weights excluded) and how long binding it took."""

    graph: LossGraph
    estimate: int
    layers: Tuple[str, ...]
    bind_seconds: float

    @property
    def batch(self) -> int:
        return self.graph.shape[0]


class Executors:
    """Bound graphs by (terms, image shape, pooling, prior, batch size), least recently used first."""

    def __init__(self, weights: Weights, ctx, max_memory: Optional[float] = None):
        self.weights, self.ctx, self.max_memory = weights, ctx, max_memory
        self.net = vgg.network(weights.network)
        self._bound: "OrderedDict[tuple, Bound]" = OrderedDict()
        self._params: Dict[str, object] = {}  # weights on this device, shared by all graphs
        self.peak = 0  # the most bytes held at once by this estimate, weights included
        self.released = 0
        self.released_bytes = 0  # the estimates of the executors released, together

    def get(self, terms: Tuple[Term, ...], shape: Tuple[int, ...], pooling: str,
            tv: Optional[Tuple[float, float]] = None, settings=None) -> Bound:
        """The executor for these terms and this (N, 3, H, W) shape, bound now if need be."""
        key = (terms, tuple(shape[1:]), pooling, tv, shape[0])
        if key in self._bound:
            self._bound.move_to_end(key)
            return self._bound[key]
        layers = tuple(dict.fromkeys(t.layer for t in terms))
        estimate = memory.estimate(self.net, terms, tuple(shape), settings)
        self._make_room(estimate, layers)
        start = time.perf_counter()
        graph = LossGraph(self.weights, terms, tuple(shape), self.ctx, pooling, params=self._params, tv=tv)
        self._bound[key] = Bound(graph, estimate, layers, time.perf_counter() - start)
        self.peak = max(self.peak, self.held())
        return self._bound[key]

    def larger(self, terms: Tuple[Term, ...], shape: Tuple[int, ...], pooling: str,
               tv: Optional[Tuple[float, float]] = None) -> Optional[Bound]:
        """The smallest kept executor of the same graph with a batch larger than ``shape[0]``, if any."""
        family = (terms, tuple(shape[1:]), pooling, tv)
        sizes = [bound for key, bound in self._bound.items() if key[:4] == family and key[4] > shape[0]]
        return min(sizes, key=lambda bound: bound.batch, default=None)

    def held(self, extra_layers: Sequence[str] = ()) -> int:
        """Bytes the kept executors need by the estimate, with the weights they (and ``extra_layers``) read."""
        layers = [name for bound in self._bound.values() for name in bound.layers] + list(extra_layers)
        weights = memory.weight_bytes(self.net, layers) if layers else 0
        return weights + sum(bound.estimate for bound in self._bound.values())

    def __len__(self) -> int:
        return len(self._bound)

    def keys(self) -> Iterator[tuple]:
        return iter(self._bound)

    def clear(self) -> None:
        """Release every executor (and the device's weights)."""
        for key in list(self._bound):
            self._release(key)

    def _make_room(self, estimate: int, layers: Sequence[str]) -> None:
        if self.max_memory is None:
            return
        while self._bound and self.held(layers) + estimate > self.max_memory * MB:
            self._release(next(iter(self._bound)))

    def _release(self, key: tuple) -> None:
        """Drop an executor, and the weights no kept executor reads, so their memory goes back."""
        self.released_bytes += self._bound.pop(key).estimate
        kept = [name for bound in self._bound.values() for name in bound.layers]
        last = self.net.deepest(kept).index if kept else -1
        for name in [n for n in self._params if self.net.layer(n.rsplit("_", 1)[0]).index > last]:
            del self._params[name]
        self.released += 1
        gc.collect()  # the executor and its arrays go now, not at some later collection
        from ..backend.mx import mx

        mx.nd.waitall()  # MXNet frees an array's memory through its engine: wait for that before binding
