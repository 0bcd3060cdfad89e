"""The engine: runs tasks of any kind on one device with one set of weights, binding each graph once.

Tasks that share a graph (``GraphKey``: loss terms, image size, pooling, prior) and their optimiser
settings run as one batch: one forward/backward for all, each sample with its own target and stopping
test. Targets come from a forward-only encoder of the same layers. The engine asks a task only for its
terms, targets and metrics (``tasks.Task``), never which kind it is.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..image import images
from . import memory
from ...backend import devices
from ...backend.mx import context
from ...errors import FmiError
from .graphkey import GraphKey
from .graphs import Cached, GraphCache
from ..optimisation import loop
from ..optimisation.loop import NEVER_FIRED, Outcome, initial_image
from ..optimisation.settings import Settings
from ..tasks import Task
from ..network.weights import Weights

Inputs = Tuple[np.ndarray, Optional[np.ndarray]]  # network inputs (1, 3, H, W) of the content and the style
RESTARTS = 3  # fresh starts for a sample whose objective never fired


@dataclass
class _Pending:
    """What a job carries through its slot: its place in the batch, its codes and its targets."""

    index: int
    content: Dict[str, np.ndarray]
    style: Dict[str, np.ndarray]
    targets: List[np.ndarray] = field(default_factory=list)


@dataclass
class Result:
    """The picture, how the optimisation went, and the numbers that say how good it is."""

    image: np.ndarray  # the saved picture (denoised)
    outcome: Outcome
    metrics: Dict[str, object] = field(default_factory=dict)
    batch_info: Dict[str, object] = field(default_factory=dict)  # the graph that ran it: batch, padding, estimate

    def raw(self, mean_rgb) -> np.ndarray:
        """The optimised image before denoising, as RGB uint8."""
        return images.deprocess(self.outcome.x, mean_rgb)


@dataclass(frozen=True)
class BatchKey:
    """Tasks with equal keys run as one batch: one graph, one optimiser's settings, targets made alike."""

    graph: GraphKey  # of any batch size
    settings: Settings
    styled: bool  # whose targets need a style image


def batch_key(task: Task, shape: Tuple[int, ...]) -> BatchKey:
    """The batch key of a task for a network input of ``shape`` ((N,) C, H, W)."""
    return BatchKey(task.graph_key(tuple(shape[-3:])), task.optimise, task.style is not None)


class Runner:
    """Holds the weights on one device and the graphs bound so far (``graphs``, within ``max_memory``);
    runs batches of tasks."""

    def __init__(self, weights: Weights, device: str = devices.DEFAULT, log: Optional[Callable[[str], None]] = None,
                 max_memory: Optional[float] = None):
        self.weights, self.device, self.log, self.max_memory = weights, device, log, max_memory
        self.ctx = context(device)
        self.graphs = GraphCache(weights, self.ctx, max_memory)
        self._last_run: Dict[GraphKey, Tuple[float, int]] = {}  # per family: (s per update, updates) of its last batch

    def prepare(self, content: np.ndarray, style: Optional[np.ndarray], size: int) -> Inputs:
        """RGB pictures -> network inputs: the content's long edge to ``size``, the style to the content's size."""
        content = images.resize_long_edge(content, size)
        mean = self.weights.mean_rgb
        style_x = None if style is None else images.preprocess(images.resize(style, content.shape[:2]), mean)
        return images.preprocess(content, mean), style_x

    def inputs(self, task: Task) -> Inputs:
        """The network inputs of a task's content and (if any) style image; without a content image (a
        visualisation), a picture of the mean colour, ``size`` px square."""
        if task.content is None:
            return np.zeros((1, 3, task.size, task.size), np.float32), None
        return self.prepare(images.read(task.content), images.read(task.style) if task.style else None, task.size)

    def run(self, task: Task) -> Result:
        return self.run_batch([task])[0]

    def run_batch(self, batch: Sequence[Task], inputs: Optional[Sequence[Inputs]] = None,
                  on_result: Optional[Callable[[int, Result], None]] = None, save_every: int = 0,
                  on_snapshot: Optional[Callable[[int, int, np.ndarray], None]] = None,
                  restart: int = 0) -> List[Result]:
        """Run tasks of one batch key in one graph: of batch size len(batch), or a larger one already
        bound when padding it (the extra slots held still) is cheaper than binding. ``on_result(i, result)``
        hears of each sample as soon as it stops, so a caller can save it before the others finish;
        ``on_snapshot(i, update, rgb)`` gets each running sample's image every ``save_every`` updates.
        A sample whose objective never fired starts again from fresh noise of its seed (``_restarts``)."""
        inputs = list(inputs) if inputs is not None else [self.inputs(t) for t in batch]
        key = self._key(batch, inputs)
        graph_key, n, shape = key.graph, len(batch), inputs[0][0].shape
        self._check_memory(graph_key.sized(n))
        larger = self._padded(graph_key.sized(n))
        padding = larger.batch - n if larger else 0
        # targets first: binding the loss graph may then release the encoder, not the other way round
        padded = inputs + [inputs[-1]] * padding  # the encoder sized as the graph, as the slots are
        encoder = self.graphs.encoder(graph_key.layers, (n + padding,) + shape[1:], graph_key.pooling)
        content = encoder.codes(np.concatenate([x for x, _ in padded]))
        style = encoder.codes(np.concatenate([y for _, y in padded])) if key.styled else {}
        pending = [_Pending(i, _sample(content, i), _sample(style, i)) for i in range(n)]
        for p in pending:
            p.targets.extend(batch[p.index].targets(graph_key.terms, p.content, p.style))
        cached = larger or self.graphs.loss_graph(graph_key.sized(n))
        jobs = [self._job(batch[p.index], shape, p, restart) for p in pending]
        jobs += [loop.Job(jobs[-1].x0, jobs[-1].targets, jobs[-1].seed, filler=True)] * padding

        def snapshot(update: int, running: List[int], x: np.ndarray) -> None:
            for i in running:
                on_snapshot(i, update, images.deprocess(x[i], self.weights.mean_rgb))

        info = {"batch_size": cached.batch, "padding": padding, "estimate_mb": round(cached.estimate / 2 ** 20, 1)}
        results, retry = self._minimise(cached, graph_key, batch, jobs, key.settings, info, on_result, restart,
                                        save_every=save_every, on_snapshot=snapshot if on_snapshot else None)
        return self._restarted(batch, inputs, results, retry, restart, on_result)

    def run_stream(self, batch: Sequence[Task], inputs: Sequence[Inputs], slots: int,
                   on_result: Optional[Callable[[int, Result], None]] = None) -> List[Result]:
        """Run tasks of one batch key through a graph of ``slots`` samples by continuous batching: a task
        that stops hands its slot to the next at once. Each content and style picture goes through the
        encoder once, however many tasks read it."""
        key = self._key(batch, inputs)
        coupled = [t.NAME for t in key.graph.terms if t.COUPLED]
        if coupled:
            raise FmiError(f"a {coupled[0]} term couples the images of a batch, which a stream's changing slots cannot be")
        graph_key, shape = key.graph.sized(min(slots, len(batch))), inputs[0][0].shape
        self._check_memory(graph_key)
        encoder = self.graphs.encoder(graph_key.layers, (1,) + shape[1:], graph_key.pooling)
        cached = self.graphs.loss_graph(graph_key)
        known: Dict[int, Dict[str, np.ndarray]] = {}

        def codes(x: Optional[np.ndarray]) -> Dict[str, np.ndarray]:
            if x is None:
                return {}
            if id(x) not in known:
                known[id(x)] = _sample(encoder.codes(x), 0)
            return known[id(x)]

        def jobs() -> Iterator[loop.Job]:
            for j, (t, (x, y)) in enumerate(zip(batch, inputs)):
                p = _Pending(j, codes(x), codes(y) if key.styled else {})
                p.targets.extend(t.targets(graph_key.terms, p.content, p.style))
                yield self._job(t, shape, p)

        info = {"batch_size": graph_key.batch, "padding": 0, "continuous": True,
                "estimate_mb": round(cached.estimate / 2 ** 20, 1)}
        results, retry = self._minimise(cached, graph_key, batch, jobs(), key.settings, info, on_result)
        return self._restarted(batch, inputs, results, retry, 0, on_result)

    def _restarted(self, batch: Sequence[Task], inputs: Sequence[Inputs], results: Dict[int, Result],
                   retry: List[int], restart: int, on_result) -> List[Result]:
        """The results in task order, those in ``retry`` (their objective never fired) run again from fresh
        noise, as a batch of their own."""
        if retry:
            results.update(zip(retry, self.run_batch(
                [batch[i] for i in retry], [inputs[i] for i in retry], restart=restart + 1,
                on_result=(lambda j, r: on_result(retry[j], r)) if on_result else None)))
        return [results[i] for i in range(len(batch))]

    @staticmethod
    def _key(batch: Sequence[Task], inputs: Sequence[Inputs]) -> BatchKey:
        """The batch key the tasks share (each with its own network input's shape)."""
        key = batch_key(batch[0], inputs[0][0].shape)
        if any(batch_key(t, x.shape) != key for t, (x, _) in zip(batch, inputs)):
            raise ValueError("tasks of different batch keys cannot share a batch")
        return key

    @staticmethod
    def _job(task: Task, shape: Tuple[int, ...], pending: "_Pending", restart: int = 0) -> loop.Job:
        return loop.Job(initial_image((1,) + tuple(shape[1:]), task.seed, task.optimise, restart), pending.targets,
                        task.seed, pending)

    def _minimise(self, cached: Cached, key: GraphKey, batch: Sequence[Task], jobs, s: Settings,
                  info: Dict[str, object], on_result: Optional[Callable[[int, Result], None]], restart: int = 0,
                  **snapshots) -> Tuple[Dict[int, Result], List[int]]:
        """Run the jobs in the cached graph of ``key``'s family; each stopped job becomes a Result as it stops
        (told to ``on_result`` unless it is to start afresh). Returns the results by task and those to restart."""
        graph, terms = cached.graph, key.terms
        results: Dict[int, Result] = {}
        retry: List[int] = []

        def stopped(ended: List[loop.Stopped]) -> None:
            final = graph.current_codes()  # the slots of the jobs that stopped hold their final images
            pictures = None if graph.is_image else graph.images()
            for e in ended:
                p, o = e.job.tag, e.outcome
                if pictures is not None:
                    o.x = pictures[e.slot:e.slot + 1]  # the image the optimised spectrum stands for
                t = batch[p.index]
                result = Result(images.postprocess(o.x, self.weights.mean_rgb, t.denoise_weight), o,
                                t.metrics(terms, p.targets, p.content, p.style, _sample(final, e.slot)), info)
                results[p.index] = result
                if _restarts(t, result, restart):
                    retry.append(p.index)  # not reported: a fresh start takes its place
                elif on_result:
                    on_result(p.index, result)

        outcomes = loop.minimise(graph, jobs, s, self.log, on_stop=stopped, **snapshots)
        self._last_run[key.family] = (outcomes[0].seconds_per_iteration, max(o.iterations for o in outcomes))
        return results, retry

    def _padded(self, key: GraphKey) -> Optional[Cached]:
        """A bound graph with a larger batch, if running these samples in it (the rest frozen, but computed
        at every update) costs less time than binding one of this batch, by the last batch's numbers."""
        larger = self.graphs.larger(key)
        last = self._last_run.get(key.family)
        if larger is None or last is None or any(t.COUPLED for t in key.terms):  # a coupled batch is one run
            return None
        seconds_per_update, updates = last
        wasted = (larger.batch - key.batch) / larger.batch * seconds_per_update * updates
        return larger if wasted < larger.bind_seconds * key.batch / larger.batch else None

    def _check_memory(self, key: GraphKey) -> None:
        if self.max_memory is not None:
            fits = memory.batch_size(self.graphs.net, key, self.max_memory, cap=key.batch)
            if fits < key.batch:
                raise FmiError(f"a batch of {key.batch} does not fit max_memory {self.max_memory:.0f} MB (at most {fits})")


def _restarts(task: Task, result: Result, restart: int) -> bool:
    """Should this result's sample start again (its objective never fired, and fresh starts are left, ``RESTARTS``
    at most, as Lucid's users do)? If not, its record says how many restarts it took, or that it never fired."""
    if not task.never_fired(result.metrics):
        if restart:
            result.metrics["restarts"] = restart
        return False
    if restart < RESTARTS:
        return True
    result.outcome.stop_reason = NEVER_FIRED
    result.metrics["restarts"] = restart
    return False


def _sample(codes_by_layer: Dict[str, np.ndarray], i: int) -> Dict[str, np.ndarray]:
    """One sample's codes (C, H, W) out of a batch's."""
    return {name: array[i] for name, array in codes_by_layer.items()}
