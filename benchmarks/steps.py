"""What the benchmark steps: the cases (layers, loss terms, batch sizes), their targets, the input,
and fmi_mx's own step. ``baselines.py`` steps the same cases the original's way and PyTorch's."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from fmi_mx.core.objectives import codes
from fmi_mx.core.run.graph import LossGraph
from fmi_mx.core.objectives.losses import ChannelSumTerm, CodeTerm, Term
from fmi_mx.core.optimisation.loop import initial_image
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.core.optimisation.optimisers.sgd import SGD
from fmi_mx.core.network.weights import Weights

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class Case:
    name: str
    terms: Tuple[Term, ...]
    batch: int = 1
    our_batches: Tuple[int, ...] = (1,)  # ours at each batch size; the baselines at 1, as they were written
    fmi_filter: Optional[int] = None  # code terms target this filter's FMI code; None: the content code


def cases(size: int) -> List[Case]:
    pmci = (CodeTerm("relu2_2", 10.0 / ((size // 2) ** 2)),) + tuple(ChannelSumTerm(n) for n in STYLE_LAYERS)
    return [Case("FMI relu5_1", (CodeTerm("relu5_1"),), our_batches=(1, 5), fmi_filter=1),
            Case("FMI relu3_2", (CodeTerm("relu3_2"),), our_batches=(1, 5), fmi_filter=1),
            Case("PMCI, 5 style layers", pmci)]


def targets(case: Case, graph_codes: Dict[str, np.ndarray]) -> List[np.ndarray]:
    """Each term's target for every image of the batch."""
    def one(term: Term, code: np.ndarray) -> np.ndarray:
        if isinstance(term, CodeTerm) and case.fmi_filter is not None:
            return codes.feature_map(code, case.fmi_filter)
        return term.target(code)

    return [np.stack([one(t, c) for c in graph_codes[t.layer]]) for t in case.terms]


def content_image(size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-100, 100, (1, 3, size, size)).astype(np.float32)


class Ours:
    """The package's step: loss in the graph, image gradient only, preallocated SGD state."""

    label = "fmi_mx"

    def __init__(self, weights: Weights, case: Case, content: np.ndarray):
        shape = (case.batch,) + content.shape[1:]
        self.graph = LossGraph(weights, case.terms, shape)
        x = np.repeat(content, case.batch, axis=0)
        self.graph.set_targets(targets(case, self.graph.codes(x)))
        self.graph.data[:] = initial_image(shape, 0, Settings())
        self.sgd, self.update = SGD(self.graph, Settings.from_flat(stop_eps=0.0), self.graph.step), 0

    def step(self) -> None:
        self.update += 1
        self.sgd.step(np.array([self.update]), [0])
