"""User-facing errors: one line that names the culprit; the CLI turns them into exit status 2."""
import difflib
from typing import Iterable


class FmiError(Exception):
    """Bad input (a file, a layer, a key, a value): the message is shown to the user as it is."""


def unknown(what: str, name: object, allowed: Iterable[object], where: str = "") -> FmiError:
    """``Unknown layer 'relu6_1' (allowed: ...). Did you mean 'relu5_1'?``"""
    allowed = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(name), allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    prefix = f"{where}: " if where else ""
    return FmiError(f"{prefix}unknown {what} '{name}' (allowed: {', '.join(allowed)}).{hint}")
