"""What makes two graphs the same: the loss terms, the image shape, the pooling, the prior on the image,
the optimiser's state (its memory counts) and the batch size. The engine batches tasks whose keys (and
settings) agree, the graph cache keeps one bound graph per key, and a sweep groups jobs by it.
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

from ..objectives.losses import Term, TotalVariation


@dataclass(frozen=True)
class View:
    """How the network sees the optimised variable: its parameterisation (``core.image.param``) and whether a
    transform stage (``core.image.transforms``) with ``pad`` px of padding sits in between (None: no stage)."""

    param: str = "pixel"
    decay: float = 1.0
    pad: Optional[int] = None

    @classmethod
    def of(cls, settings) -> "View":
        stage = settings.transform.pad if settings.transform.any() else None
        return cls(settings.image.param, settings.image.fourier_decay, stage)


@dataclass(frozen=True)
class GraphKey:
    """One graph's identity; ``batch`` 0 stands for any batch size (a family of graphs)."""

    terms: Tuple[Term, ...]
    image: Tuple[int, int, int]  # (C, H, W) of one image
    pooling: str
    prior: Optional[TotalVariation] = None
    state_images: int = 0  # image-sized buffers of optimiser and prior state beyond SGD's
    batch: int = 0
    view: View = View()

    @classmethod
    def of(cls, terms: Tuple[Term, ...], image: Tuple[int, int, int], pooling: str, settings,
           batch: int = 0) -> "GraphKey":
        """The key of a task's graph: its terms and image, and what its optimiser ``settings`` add."""
        from ..optimisation.optimisers import METHODS

        prior = settings.prior.term()
        state = METHODS[settings.method].state_images(settings) + (prior.BUFFERS if prior else 0)
        return cls(tuple(terms), tuple(image), pooling, prior, state, batch, View.of(settings))

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
    def network_shape(self) -> Tuple[int, int, int, int]:
        """(N, C, H, W) of what the network reads: the image, padded where a transform stage pads it."""
        pad = self.view.pad or 0
        return (self.batch, self.image[0], self.image[1] + 2 * pad, self.image[2] + 2 * pad)

    @property
    def layers(self) -> Tuple[str, ...]:
        """The layers its terms read, once each, in order."""
        return tuple(dict.fromkeys(t.layer for t in self.terms))
