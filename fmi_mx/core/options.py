"""One declaration per option: a dataclass field made by ``option(...)``, whose metadata says what it
means (help), which values it takes (rule, choices), its public name (config key and API keyword), its
command-line flag, and whether it changes results (and so enters job ids).

The command line, the config schema and its messages, the API keywords and the options table of
experiments/README.md are all made from these declarations (``declared``); adding an option is its
declaration plus its use.
"""
import dataclasses
import functools
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Tuple

from ..errors import FmiError, choice
from .rules import apply

KEY = "fmi_mx.option"


@dataclass(frozen=True)
class Spec:
    """What a field declares besides its type and default."""

    help: str
    rule: Optional[Callable[[Any], Any]] = None  # raises FmiError for a value it refuses
    choices: Optional[Tuple[Any, ...]] = None
    name: str = ""  # public name, where the field's own would be ambiguous (adam's learning_rate)
    flag: Optional[str] = ""  # command-line flag; "" derives --public-name, None: no flag
    result: bool = True  # changes the result: part of a job's identity
    first_ids: bool = False  # in job ids since the first release: kept there at any value, so they never change
    picture: bool = False  # an image source: a job's id knows it by its pixels' file, not by where it lies
    what: str = ""  # how messages name it, where its name alone is not clear ("style mode")
    api: bool = True  # a keyword of fmi_mx.invert / style_transfer (sweep-only and command-line-only options: False)


def option(default, help: str, **spec) -> Any:
    """A dataclass field with its declaration (see ``Spec``)."""
    return dataclasses.field(default=default, metadata={KEY: Spec(help=help, **spec)})


@dataclass(frozen=True)
class Declared:
    """An option as the outside sees it: its public name, the path to its field, type, default and spec."""

    name: str
    path: Tuple[str, ...]  # attribute names from the declaring class down to the field
    type: Any
    default: Any
    spec: Spec

    @property
    def flag(self) -> Optional[str]:
        if self.spec.flag is None:
            return None
        return self.spec.flag or "--" + self.name.replace("_", "-")

    def check(self, value) -> None:
        """The option's own rule (and choices) on a value; an ``FmiError`` names the option."""
        if self.spec.choices is not None:
            choice(self.spec.what or self.name, value, self.spec.choices)
        if self.spec.rule is not None:
            apply(self.spec.rule, value, self.spec.what or self.name)


@functools.lru_cache(maxsize=None)
def declared(cls, groups: bool = True) -> Tuple[Declared, ...]:
    """Every option of a dataclass in order; with ``groups``, those of its option groups (fields whose
    type is a dataclass, such as a task's settings) too."""
    return tuple(_walk(cls, (), groups))


def _walk(cls, prefix: Tuple[str, ...], groups: bool) -> Iterator[Declared]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind) and KEY not in f.metadata:
            if groups:
                yield from _walk(kind, prefix + (f.name,), groups)
        elif KEY in f.metadata:
            spec = f.metadata[KEY]
            yield Declared(spec.name or f.name, prefix + (f.name,), kind, f.default, spec)


@functools.lru_cache(maxsize=None)
def by_name(cls) -> "dict[str, Declared]":
    return {d.name: d for d in declared(cls)}


def check_all(obj, groups: bool = True) -> Iterator[Tuple[str, Any, str]]:
    """Every declared option of ``obj`` whose value its rule refuses: (name, value, message)."""
    for d in declared(type(obj), groups):
        value = get(obj, d.path)
        try:
            d.check(value)
        except FmiError as e:
            yield d.name, value, str(e)


def get(obj, path: Tuple[str, ...]):
    for name in path:
        obj = getattr(obj, name)
    return obj


def parse_number(kind, text):
    """A command-line or ``--option`` value as the option's type: numbers as the config reads them
    (``1e-8`` is a float, not a string), anything else as it is."""
    if kind is bool:
        return text
    if kind in (int, float):
        try:
            return kind(text) if kind is float else int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return text
            return int(value) if kind is int and value.is_integer() else value
    return text
