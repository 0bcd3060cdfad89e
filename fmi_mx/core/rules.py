"""Value rules shared by the task kinds and the optimiser settings: each raises one ``FmiError`` line
naming the value and what is allowed, and ``problems`` turns a dataclass's rules into ``Invalid``."""
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Tuple

from ..errors import FmiError, Invalid

Problem = Tuple[str, object, str]  # (field, value, message)
Rule = Callable[[object], object]


def apply(rule: Rule, value: object, name: str) -> None:
    """Run one rule on a value; a bound (``whole``, ``number``) takes ``name`` for its message."""
    rule(value, name) if isinstance(rule, Bounded) else rule(value)


def check(field: str, value: object, rule: Rule) -> Iterator[Problem]:
    """Run one rule; its error becomes a problem of ``field``."""
    try:
        apply(rule, value, field)
    except FmiError as e:
        yield field, value, str(e)


def raise_problems(problems: Iterator[Problem]) -> None:
    found = list(problems)
    if found:
        raise Invalid(found)


def _type_note(value, kinds) -> str:
    """`` (a str)``, where a value's type is the problem."""
    return "" if isinstance(value, kinds) and not isinstance(value, bool) else f" (type {type(value).__name__})"


@dataclass(frozen=True)
class Bounded:
    """A number between bounds. It takes its name from the option it is declared on (``Declared.check``
    passes it); ``note`` says the unit or a special value, as in ``size (px, the long edge)``."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    note: str = ""

    def __call__(self, value, name: str = "value") -> None:
        label = f"{name} ({self.note})" if self.note else name
        if self.integer:
            allowed = f">= {self.low:g}" if self.high == math.inf else f"from {self.low:g} to {self.high:g}"
            if isinstance(value, bool) or not isinstance(value, int) or value < self.low or value > self.high:
                raise FmiError(f"{label} must be a whole number {allowed}, not {value!r}{_type_note(value, int)}")
            return
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > self.low if self.low_open else value >= self.low)
        ok = ok and (value < self.high if self.high_open else value <= self.high)
        if not ok:
            raise FmiError(f"{label} must be a finite number {_interval(self.low, self.high, self.low_open, self.high_open)}, "
                           f"not {value!r}{_type_note(value, (int, float))}")


def whole(minimum: int, maximum: Optional[int] = None, note: str = "") -> Bounded:
    """A whole number in [minimum, maximum]."""
    return Bounded(minimum, math.inf if maximum is None else maximum, integer=True, note=note)


def number(low: float = -math.inf, high: float = math.inf, low_open: bool = False, high_open: bool = False,
           note: str = "") -> Bounded:
    """A finite number between ``low`` and ``high`` (each end closed unless said open)."""
    return Bounded(low, high, low_open, high_open, note=note)


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if high == math.inf:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def given(what: str) -> Rule:
    """Present (not None, not empty)."""
    def rule(value):
        if value is None or value == "":
            raise FmiError(what)
    return rule
