"""Value rules shared by the task kinds and the optimiser settings: each raises one ``FmiError`` line
naming the value and what is allowed, and ``problems`` turns a dataclass's rules into ``Invalid``."""
import math
from typing import Callable, Iterator, Optional, Tuple

from ..errors import FmiError, Invalid

Problem = Tuple[str, object, str]  # (field, value, message)
Rule = Callable[[object], object]


def check(field: str, value: object, rule: Rule) -> Iterator[Problem]:
    """Run one rule; its error becomes a problem of ``field``."""
    try:
        rule(value)
    except FmiError as e:
        yield field, value, str(e)


def raise_problems(problems: Iterator[Problem]) -> None:
    found = list(problems)
    if found:
        raise Invalid(found)


def _type_note(value, kinds) -> str:
    """`` (a str)``, where a value's type is the problem."""
    return "" if isinstance(value, kinds) and not isinstance(value, bool) else f" (type {type(value).__name__})"


def whole(name: str, minimum: int, maximum: Optional[int] = None) -> Rule:
    """A whole number in [minimum, maximum]."""
    def rule(value):
        allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
                (maximum is not None and value > maximum):
            raise FmiError(f"{name} must be a whole number {allowed}, not {value!r}{_type_note(value, int)}")
    return rule


def number(name: str, low: float = -math.inf, high: float = math.inf, low_open: bool = False,
           high_open: bool = False) -> Rule:
    """A finite number between ``low`` and ``high`` (each end closed unless said open)."""
    def rule(value):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not ok:
            raise FmiError(f"{name} must be a finite number {_interval(low, high, low_open, high_open)}, "
                           f"not {value!r}{_type_note(value, (int, float))}")
    return rule


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
