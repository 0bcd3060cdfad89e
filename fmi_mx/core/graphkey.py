"""What makes two graphs the same: the loss terms, the image shape, the pooling, the prior on the image,
the optimiser's state (its memory counts) and the batch size. The engine batches tasks whose keys (and
settings) agree, the graph cache keeps one bound graph per key, and a sweep groups jobs by it.
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

from .losses import Term, TotalVariation


@dataclass(frozen=True)
class GraphKey:
    """One graph's identity; ``batch`` 0 stands for any batch size (a family of graphs)."""

    terms: Tuple[Term, ...]
    image: Tuple[int, int, int]  # (C, H, W) of one image
    pooling: str
    prior: Optional[TotalVariation] = None
    state_images: int = 0  # image-sized buffers of optimiser and prior state beyond SGD's
    batch: int = 0

    @classmethod
    def of(cls, terms: Tuple[Term, ...], image: Tuple[int, int, int], pooling: str, settings,
           batch: int = 0) -> "GraphKey":
        """The key of a task's graph: its terms and image, and what its optimiser ``settings`` add."""
        from .optimisers import METHODS

        prior = settings.prior.term()
        state = METHODS[settings.method].state_images(settings) + (TotalVariation.BUFFERS if prior else 0)
        return cls(tuple(terms), tuple(image), pooling, prior, state, batch)

    @property
    def family(self) -> "GraphKey":
        """The same graph at any batch size."""
        return dataclasses.replace(self, batch=0)

    def sized(self, batch: int) -> "GraphKey":
        return dataclasses.replace(self, batch=batch)

    @property
    def shape(self) -> Tuple[int, int, int, int]:
        """(N, C, H, W) of the graph's data."""
        return (self.batch,) + self.image

    @property
    def layers(self) -> Tuple[str, ...]:
        """The layers its terms read, once each, in order."""
        return tuple(dict.fromkeys(t.layer for t in self.terms))
