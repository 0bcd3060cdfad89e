"""The graphs one device keeps bound (loss graphs by ``GraphKey``, encoders by layers and shape), reused
while they fit the worker's memory budget.

Before a graph is bound, the estimates of those kept plus the new one, plus the weights they read (held
once per device, however many graphs share them), are compared with ``max_memory``; the least recently
used graphs are released until it fits, and weights no kept graph reads go with them. MXNet 1.9.1 gives
back most of a released executor's memory, not all: about a fifth of it stays with the process
(benchmarks/worker_memory.py; a plain ``simple_bind`` loop leaks the same way), so a worker that binds
and releases often grows beyond its estimate by that.
"""
import gc
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Hashable, Iterator, Optional, Sequence, Tuple

from . import memory
from ..network import vgg
from ..network.encoder import Encoder
from .graph import LossGraph
from .graphkey import GraphKey
from ..network.weights import Weights

MB = 2 ** 20


@dataclass
class Cached:
    """A bound graph (a ``LossGraph`` or an ``Encoder``), its memory estimate (bytes, weights excluded),
    the layers it reads and how long binding it took."""

    graph: object
    estimate: int
    layers: Tuple[str, ...]
    bind_seconds: float

    @property
    def batch(self) -> int:
        return self.graph.shape[0]


class GraphCache:
    """Bound graphs by key, least recently used first, within ``max_memory`` (MB; None: no limit)."""

    def __init__(self, weights: Weights, ctx, max_memory: Optional[float] = None):
        self.weights, self.ctx, self.max_memory = weights, ctx, max_memory
        self.net = vgg.network(weights.network)
        self._cached: "OrderedDict[Hashable, Cached]" = OrderedDict()
        self._params: Dict[str, object] = {}  # weights on this device, shared by all graphs
        self.peak = 0  # the most bytes held at once by this estimate, weights included
        self.released = 0
        self.released_bytes = 0  # the estimates of the graphs released, together

    def loss_graph(self, key: GraphKey) -> Cached:
        """The loss graph of ``key`` (its batch set), bound now if need be."""
        return self._get(key, key.layers, lambda: memory.estimate(self.net, key),
                         lambda: LossGraph(self.weights, key.terms, key.shape, self.ctx, key.pooling,
                                           params=self._params, prior=key.prior, view=key.view))

    def encoder(self, layers: Sequence[str], shape: Tuple[int, int, int, int], pooling: str = "avg") -> Encoder:
        """A forward-only encoder of ``layers`` for images of ``shape`` (N, 3, H, W), bound now if need be."""
        layers = tuple(dict.fromkeys(layers))
        key = ("encoder", layers, tuple(shape), pooling)
        return self._get(key, layers, lambda: memory.encoder_bytes(self.net, layers, shape),
                         lambda: Encoder(self.weights, layers, shape, self.ctx, pooling, params=self._params)).graph

    def larger(self, key: GraphKey) -> Optional[Cached]:
        """The smallest kept loss graph of the same family with a batch larger than ``key.batch``, if any."""
        sizes = [c for k, c in self._cached.items()
                 if isinstance(k, GraphKey) and k.family == key.family and k.batch > key.batch]
        return min(sizes, key=lambda c: c.batch, default=None)

    def _get(self, key: Hashable, layers: Tuple[str, ...], estimate: Callable[[], int],
             bind: Callable[[], object]) -> Cached:
        if key in self._cached:
            self._cached.move_to_end(key)
            return self._cached[key]
        size = estimate()
        self._make_room(size, layers)
        start = time.perf_counter()
        graph = bind()
        self._cached[key] = Cached(graph, size, layers, time.perf_counter() - start)
        self.peak = max(self.peak, self.held())
        return self._cached[key]

    def held(self, extra_layers: Sequence[str] = ()) -> int:
        """Bytes the kept graphs need by the estimate, with the weights they (and ``extra_layers``) read."""
        layers = [name for cached in self._cached.values() for name in cached.layers] + list(extra_layers)
        weights = memory.weight_bytes(self.net, layers) if layers else 0
        return weights + sum(cached.estimate for cached in self._cached.values())

    def __len__(self) -> int:
        return len(self._cached)

    def keys(self) -> Iterator[Hashable]:
        return iter(self._cached)

    def clear(self) -> None:
        """Release every graph (and the device's weights)."""
        for key in list(self._cached):
            self._release(key)

    def _make_room(self, estimate: int, layers: Sequence[str]) -> None:
        if self.max_memory is None:
            return
        while self._cached and self.held(layers) + estimate > self.max_memory * MB:
            self._release(next(iter(self._cached)))

    def _release(self, key: Hashable) -> None:
        """Drop a graph, and the weights no kept graph reads, so their memory goes back."""
        self.released_bytes += self._cached.pop(key).estimate
        kept = [name for cached in self._cached.values() for name in cached.layers]
        last = self.net.deepest(kept).index if kept else -1
        for name in [n for n in self._params if self.net.layer(n.rsplit("_", 1)[0]).index > last]:
            del self._params[name]
        self.released += 1
        gc.collect()  # the executor and its arrays go now, not at some later collection
        from ...backend.mx import mx

        mx.nd.waitall()  # MXNet frees an array's memory through its engine: wait for that before binding
