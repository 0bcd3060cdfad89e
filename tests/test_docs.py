"""The docs site: built with warnings as errors, its links resolving, its reference pages generated from the
code (and caught when stale), and an API reference with Args and Raises for every public name."""
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

import fmi_mx
from fmi_mx import reference
from fmi_mx.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = [name for name in fmi_mx.__all__ if name != "__version__"]


def test_reference_pages_are_what_the_code_generates():
    for name in reference.stale():
        committed = (reference.DOCS / name).read_text(encoding="utf-8").splitlines()
        generated = reference.PAGES[name]().splitlines()
        first = next(i for i, pair in enumerate(zip(committed + [""], generated + [""])) if pair[0] != pair[1])
        pytest.fail(f"{name} line {first + 1} is stale (run python -m fmi_mx.reference): "
                    f"{committed[first:first + 1]} != {generated[first:first + 1]}")


def test_a_stale_reference_page_is_named(tmp_path):
    reference.write(tmp_path)
    assert reference.stale(tmp_path) == []
    page = tmp_path / "config.md"
    page.write_text(page.read_text().replace("| `optimise.lbfgs_history` | `10` |", "| `optimise.lbfgs_history` | `11` |"))
    (tmp_path / "cli.md").unlink()
    assert reference.stale(tmp_path) == ["cli.md", "config.md"]


def test_cli_reference_has_every_command_and_option():
    page = reference.cli_page()
    for words, parser, _ in reference.commands(build_parser()):
        assert f"## fmi-mx {' '.join(words)}" in page
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in page, (words, flag)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_documents_its_arguments_and_errors(name):
    obj = getattr(fmi_mx, name)
    doc = inspect.getdoc(obj)
    sections = {s: doc.split(f"{s}:\n", 1)[1] if f"{s}:\n" in doc else None for s in ("Args", "Returns", "Raises")}
    assert all(sections.values()), f"fmi_mx.{name}: missing {[s for s, v in sections.items() if not v]}"
    documented = set(re.findall(r"^\s{4}(\w+):", sections["Args"].split("\nReturns:")[0], re.M))
    assert set(inspect.signature(obj).parameters) <= documented, f"fmi_mx.{name}: undocumented arguments"
    assert "FmiError" in sections["Raises"]
    api_page = (ROOT / "docs" / "reference" / "api.md").read_text()
    assert f"::: {obj.__module__}.{obj.__name__}" in api_page, f"fmi_mx.{name} is not in docs/reference/api.md"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


@pytest.mark.slow
def test_site_builds_strict_and_every_internal_link_resolves(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e .[docs]")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    pages = {path: _Links() for path in site.rglob("*.html")}
    for path, parser in pages.items():
        parser.feed(path.read_text(encoding="utf-8"))
    broken = []
    for path, parser in pages.items():
        for link in parser.links:
            url = urlparse(link)
            if url.scheme or url.netloc or link.startswith(("mailto:", "data:")):
                continue
            base = site if url.path.startswith("/") else path.parent  # the 404 page links from the site's root
            target = (base / unquote(url.path).lstrip("/")).resolve() if url.path else path
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {link}")
            elif url.fragment and target.suffix == ".html" and url.fragment not in pages[target].ids:
                broken.append(f"{path.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "\n".join(broken[:20])
    api = pages[site / "reference" / "api.html"]
    for name in PUBLIC:
        obj = getattr(fmi_mx, name)
        assert f"{obj.__module__}.{obj.__name__}" in api.ids
    html = (site / "reference" / "api.html").read_text(encoding="utf-8")
    assert html.count("Raises") >= len(PUBLIC) and html.count("Parameters") >= len(PUBLIC)
    for notebook in ("first_fmi", "style_pmci_gram", "visualisation_vs_fmi"):
        assert (site / "notebooks" / notebook / "index.html").exists() or (site / "notebooks" / f"{notebook}.html").exists()


def test_the_readme_is_short_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [t.split("#")[0] for t in targets if not urlparse(t).scheme and t.split("#")[0]]
    assert "docs/index.md" in local or "docs/getting-started.md" in local
    missing = [t for t in local if not (ROOT / unquote(t)).exists()]
    assert not missing, missing
