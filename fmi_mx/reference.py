"""The docs site's generated reference pages: the command line from its parser, the config keys from the
options' declarations. Generated, committed and compared in a test, so neither can drift from the code.

    python -m fmi_mx.reference            # rewrite docs/reference/cli.md and config.md
    python -m fmi_mx.reference --check    # exit 1, naming the page, when a committed page is stale
"""
import argparse
import functools
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

#: the width argparse wraps help at, fixed so the page does not depend on the terminal that made it
WIDTH = 100
DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference"


def commands(parser: argparse.ArgumentParser, path: Tuple[str, ...] = ()) -> Iterator[Tuple[Tuple[str, ...], argparse.ArgumentParser, str]]:
    """Every (sub)command as (its words, its parser, its one-line help), depth first in declaration order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield path + (name,), sub, helps.get(name, "")
                yield from commands(sub, path + (name,))


def cli_page() -> str:
    """The command line as Markdown: a table of commands, then each command's full ``--help``."""
    from .cli import build_parser

    parser = build_parser()
    found = list(commands(parser))
    for sub in [parser] + [sub for _, sub, _ in found]:  # WIDTH columns, whatever the terminal says
        sub.formatter_class = functools.partial(sub.formatter_class, width=WIDTH)
    lines = ["# Command line", "",
             "Generated from `fmi-mx`'s own parser (`python -m fmi_mx.reference`); a test fails when "
             "this page and the parser disagree.", "",
             "| command | what it does |", "| --- | --- |"]
    lines += [f"| [`fmi-mx {' '.join(words)}`](#{'-'.join(('fmi-mx',) + words)}) | {text} |"
              for words, _, text in found]
    lines += ["", "## fmi-mx", "", "```text", parser.format_help().rstrip(), "```"]
    for words, sub, _ in found:
        lines += ["", f"## fmi-mx {' '.join(words)}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(lines) + "\n"


def config_page() -> str:
    """Every config key as Markdown, from the declarations (the table ``fmi-mx options`` prints)."""
    from .sweep.config import table

    return "\n".join([
        "# Config keys", "",
        "An experiment is a YAML file: a `name`, shared options and `panels`, each panel expanding into jobs "
        "(one per content image, layer, filter, seed, style). Any key can be overridden on the command line "
        "with `--set KEY=VALUE` (`--set optimise.max_iterations=50`). Every problem of a config is reported at "
        "once, as `file: key: message` naming the allowed values, before any job runs.", "",
        "Generated from the options' declarations (`python -m fmi_mx.reference`, or `fmi-mx options` "
        "for the table alone); a test fails when this page and the declarations disagree.", "",
        table().rstrip()]) + "\n"


PAGES = {"cli.md": cli_page, "config.md": config_page}


def stale(folder: Path = DOCS) -> List[str]:
    """The committed pages that differ from what the code generates now."""
    return [name for name, make in PAGES.items()
            if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != make()]


def write(folder: Path = DOCS) -> Dict[str, Path]:
    """Write every generated page into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, make in PAGES.items():
        (folder / name).write_text(make(), encoding="utf-8")
        written[name] = folder / name
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare the committed pages instead of writing them")
    a = parser.parse_args(argv)
    if a.check:
        old = stale()
        for name in old:
            print(f"docs/reference/{name} is stale: run python -m fmi_mx.reference", file=sys.stderr)
        return 1 if old else 0
    for path in write().values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
