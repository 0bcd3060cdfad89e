"""User-facing errors: one line that names the culprit; the CLI turns them into exit status 2.

Every rule raises its own ``FmiError`` once, where its concept lives (a layer name in ``vgg``, a
task's fields in ``tasks``). ``Problems`` lets a config loader run those same rules under key
paths and report every failure at once.
"""
import contextlib
import difflib
from typing import Iterable, Iterator, Sequence, Tuple


class FmiError(Exception):
    """Bad input (a file, a layer, a key, a value): the message is shown to the user as it is."""


class Invalid(FmiError):
    """Several problems of one object, each as (field, value, message); the text joins the messages."""

    def __init__(self, problems: Sequence[Tuple[str, object, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(dict.fromkeys(message for _, _, message in self.problems)))


def unknown(what: str, name: object, allowed: Iterable[object], where: str = "") -> FmiError:
    """``Unknown layer 'relu6_1' (allowed: ...). Did you mean 'relu5_1'?``"""
    allowed = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(name), allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    prefix = f"{where}: " if where else ""
    return FmiError(f"{prefix}unknown {what} '{name}' (allowed: {', '.join(allowed)}).{hint}")


def choice(what: str, value: object, allowed: Sequence[object]) -> object:
    """``value`` if it is one of ``allowed``, else the ``unknown`` error."""
    if value not in allowed:
        raise unknown(what, value, allowed)
    return value


class Problems:
    """Collects the failures of many checks, each under a key path, into one error."""

    def __init__(self, where: str):
        self.where, self.items, self.keys = where, [], []

    def add(self, key: str, message: str) -> None:
        """One problem per key: a key inside one that has a problem already (or around it) is skipped."""
        if any(_nested(key, k) for k in self.keys):
            return
        self.keys.append(key)
        self.items.append(f"{self.where}: {key}: {message}")

    @contextlib.contextmanager
    def at(self, key: str) -> Iterator[None]:
        """Run a check; its ``FmiError`` becomes a problem at ``key`` instead of stopping."""
        try:
            yield
        except FmiError as e:
            self.add(key, str(e))

    def raise_if_any(self) -> None:
        if self.items:
            raise FmiError(self.items[0] if len(self.items) == 1 else
                           f"{len(self.items)} problems: " + " | ".join(self.items))


def _nested(a: str, b: str) -> bool:
    """Is one key path the other or inside it (``panels[0]`` and ``panels[0].layers[1]``)?"""
    short, long = sorted((a, b), key=len)
    return long == short or long.startswith((short + ".", short + "["))

