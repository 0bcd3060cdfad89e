"""Feature-visualisation objectives that compose, as Lucent's do: ``channel("relu4_2", 5) - 0.5 *
channel("relu4_2", 9)``, sums across layers, negations, and a batch's ``diversity``. Pure Python: an
``Objective`` is a weighted sum of atoms (a filter's mean activation, ``channel``; its activation at the centre
position, ``neuron``; or, over a batch of images, minus how alike their textures are at a layer, ``diversity``),
which the visualisation maximises. Its text form, ``str(objective)``, is what configs and job ids hold, and
``parse`` reads it back (a small grammar, never ``eval``):

    objective := ["-"] term (("+" | "-") term)*
    term      := [number "*"] (("channel" | "neuron") "(" layer "," filter ")" | "diversity" "(" layer ")")
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ...errors import FmiError
from ..network import vgg

KINDS = ("channel", "neuron", "diversity")
FILTERLESS = ("diversity",)  # atoms of the whole code, not of one filter
_NUMBER = r"\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?"
_TERM = re.compile(rf"\s*([-+])?\s*(?:({_NUMBER})\s*\*\s*)?({'|'.join(KINDS)})\(\s*([A-Za-z0-9_]+)\s*(?:,\s*(\d+)\s*)?\)\s*")


@dataclass(frozen=True)
class Atom:
    """weight x (a filter's mean activation over positions, or at the centre position; or the batch's
    diversity, with no filter) at one layer."""

    kind: str
    layer: str
    filter: Optional[int]
    weight: float = 1.0

    def __str__(self) -> str:
        return f"{self.kind}({self.layer})" if self.filter is None else f"{self.kind}({self.layer}, {self.filter})"


@dataclass(frozen=True)
class Objective:
    """A weighted sum of atoms, to be maximised."""

    atoms: Tuple[Atom, ...]

    def __add__(self, other: "Objective") -> "Objective":
        return Objective(self.atoms + other.atoms)

    def __neg__(self) -> "Objective":
        return self * -1.0

    def __sub__(self, other: "Objective") -> "Objective":
        return self + (-other)

    def __mul__(self, factor: float) -> "Objective":
        return Objective(tuple(Atom(a.kind, a.layer, a.filter, a.weight * float(factor)) for a in self.atoms))

    __rmul__ = __mul__

    def __str__(self) -> str:
        text = ""
        for n, a in enumerate(self.atoms):
            sign = "-" if a.weight < 0 else ("+" if n else "")
            size = abs(a.weight)
            factor = "" if size == 1.0 else f"{size:g} * "
            text += f"{' ' if n else ''}{sign}{' ' if n else ''}{factor}{a}"
        return text

    @property
    def layers(self) -> Tuple[str, ...]:
        """The layers it reads, in order of first appearance."""
        return tuple(dict.fromkeys(a.layer for a in self.atoms))

    @property
    def couples(self) -> bool:
        """Does it hold a term of the whole batch (diversity), so that its images are one run, not several?"""
        return any(a.kind in FILTERLESS for a in self.atoms)

    def groups(self) -> List[Tuple[str, str, Dict[Optional[int], float]]]:
        """(kind, layer, {filter: weight}) per kind and layer, in order of first appearance: one loss term each,
        its filters picked by a weighted selector (weights of a filter named twice add up; a filterless atom's
        weight under None)."""
        out: Dict[Tuple[str, str], Dict[int, float]] = {}
        for a in self.atoms:
            weights = out.setdefault((a.kind, a.layer), {})
            weights[a.filter] = weights.get(a.filter, 0.0) + a.weight
        return [(kind, layer, weights) for (kind, layer), weights in out.items()]


def atom(kind: str, layer: str, filter_index: Optional[int], weight: float = 1.0) -> Objective:
    """One atom as an objective; the layer must be a VGG layer name, and a filter given where the kind has one."""
    vgg.parse(layer)
    if (filter_index is None) != (kind in FILTERLESS):
        raise FmiError(f"{kind}({layer}{'' if filter_index is None else f', {filter_index}'}): "
                       + ("takes a layer alone" if kind in FILTERLESS else "needs a filter index"))
    return Objective((Atom(kind, layer, None if filter_index is None else int(filter_index), float(weight)),))


def channel(layer: str, filter_index: int) -> Objective:
    """A filter's mean activation over positions, to be maximised. Objectives compose:
    ``channel("relu4_2", 5) - 0.5 * channel("relu4_2", 9)``.

    Args:
        layer: a VGG layer name, such as ``relu4_2``.
        filter_index: the filter, 0-based.

    Returns:
        The objective, for ``fmi_mx.visualise(objective=...)``.

    Raises:
        FmiError: an unknown layer name.
    """
    return atom("channel", layer, filter_index)


def neuron(layer: str, filter_index: int) -> Objective:
    """A filter's activation at the centre position, to be maximised: Lucid's neuron objective, one
    receptive field rather than the whole picture (``neuron("relu4_2", 5) + 0.1 * channel("relu4_2", 5)``).

    Args:
        layer: a VGG layer name, such as ``relu4_2``.
        filter_index: the filter, 0-based.

    Returns:
        The objective, for ``fmi_mx.visualise(objective=...)``.

    Raises:
        FmiError: an unknown layer name.
    """
    return atom("neuron", layer, filter_index)


def diversity(layer: str) -> Objective:
    """Over a batch of images: minus how alike their textures are at ``layer`` (Lucid's diversity; the mean
    cosine similarity of each image's Gram matrix with the others'). Add it, weighted, to an objective of a
    batch (``fmi_mx.visualise(samples=N)``) to draw N different images of one filter.

    Args:
        layer: the VGG layer whose Gram matrices are pushed apart, such as ``relu3_1``.

    Returns:
        The objective, to add to a filter's: ``channel("relu4_2", 5) + diversity("relu3_1")``.

    Raises:
        FmiError: an unknown layer name.
    """
    return atom("diversity", layer, None)


def parse(text: str) -> Objective:
    """The objective a text names; an ``FmiError`` names where the text stops making sense."""
    if not isinstance(text, str) or not text.strip():
        raise FmiError(f"objective {text!r}: expected an expression like channel(relu4_2, 5) - 0.5 * channel(relu4_2, 9)")
    atoms, at = [], 0
    while at < len(text):
        found = _TERM.match(text, at)
        if not found or (atoms and not found.group(1)):
            raise FmiError(f"objective {text!r}: cannot read it from character {at + 1} on ({text[at:].strip()!r}); "
                           "terms look like [number *] channel(layer, filter), neuron(layer, filter) or diversity(layer), "
                           "joined by + or -")
        sign, number, kind, layer, k = found.groups()
        atoms += atom(kind, layer, None if k is None else int(k),
                      (-1.0 if sign == "-" else 1.0) * (float(number) if number else 1.0)).atoms
        at = found.end()
    return Objective(tuple(atoms))
