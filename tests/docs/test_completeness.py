"""The docs cover the code: a new strategy, backend, hook or reference entry without a docs section fails here."""

from __future__ import annotations

import inspect
import re
import unicodedata
from pathlib import Path

import pytest
from traffik import hookspecs, strategies
from traffik.plugins import get_plugin_registry
from traffik.strategies import ThrottleStrategy

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE = ROOT / "spec" / "api-reference.md"
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+\.md)(?:#([^)\s]+))?\)")


def _slugify(heading: str) -> str:
    """A heading's anchor, as Python-Markdown's ``toc`` extension (which mkdocs uses) computes it."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _headings(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return [heading.replace("`", "").strip() for heading in HEADING.findall(text)]


def _slugs(page: Path) -> set[str]:
    return {_slugify(heading) for heading in _headings(page)}


def _guide_pages() -> list[Path]:
    """Pages written by hand: not the contract, not the reference generated from docstrings."""
    generated = DOCS / "reference"
    return [
        page for page in sorted(DOCS.rglob("*.md")) if page.name != "api-reference.md" and generated not in page.parents
    ]


def _strategy_classes() -> list[str]:
    classes = {
        value
        for value in vars(strategies).values()
        if inspect.isclass(value) and issubclass(value, ThrottleStrategy) and value is not ThrottleStrategy
    }
    return sorted(cls.__name__ for cls in classes)


@pytest.mark.parametrize("name", _strategy_classes())
def test_strategy_has_a_section(name: str) -> None:
    assert name in _headings(DOCS / "core-concepts" / "strategies.md"), f"no '### {name}' in strategies.md"


def _first_party_backends() -> list[str]:
    backends = get_plugin_registry().backends().values()
    return sorted(info.loader.rsplit(":", 1)[1] for info in backends if info.loader.startswith("traffik."))


def test_first_party_backends_are_found() -> None:
    assert {"InMemoryBackend", "RedisBackend", "MemcachedBackend"} <= set(_first_party_backends())


@pytest.mark.parametrize("name", _first_party_backends())
def test_backend_has_a_section(name: str) -> None:
    assert name in _headings(DOCS / "core-concepts" / "backends.md"), f"no '## {name}' in backends.md"


def _hook_specs() -> list[str]:
    return sorted(name for name in vars(hookspecs) if name.startswith("traffik_"))


def test_hook_specs_are_found() -> None:
    assert "traffik_register_backends" in _hook_specs()


@pytest.mark.parametrize("name", _hook_specs())
def test_hook_spec_has_a_section(name: str) -> None:
    assert name in _headings(DOCS / "extending" / "backends.md"), f"no '### {name}' in extending/backends.md"


def _reference_entries() -> list[str]:
    return re.findall(r"^### `([^`]+)`", REFERENCE.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_reference_entries_are_found() -> None:
    assert "HTTPThrottle" in _reference_entries()


@pytest.mark.parametrize("name", _reference_entries())
def test_reference_entry_has_a_guide_section(name: str) -> None:
    """Every class and name the reference lists is named in a heading of some guide page."""
    pages = [page.relative_to(DOCS).as_posix() for page in _guide_pages() if any(name in h for h in _headings(page))]
    assert pages, f"{name} is in spec/api-reference.md but no guide page has a heading naming it"


def _reference_links() -> list[tuple[str, str | None]]:
    links = {(target, anchor or None) for target, anchor in LINK.findall(REFERENCE.read_text(encoding="utf-8"))}
    return sorted(links, key=lambda link: (link[0], link[1] or ""))


def test_reference_links_are_found() -> None:
    assert ("core-concepts/rates.md", None) in _reference_links()


@pytest.mark.parametrize(("target", "anchor"), _reference_links(), ids=lambda value: value or "")
def test_reference_link_target_exists(target: str, anchor: str | None) -> None:
    """The reference page is included at the docs root, so its links resolve from docs/."""
    page = DOCS / target
    assert page.is_file(), f"spec/api-reference.md links to {target}, which docs/ does not have"
    if anchor is not None:
        assert anchor in _slugs(page), f"{target} has no heading with the anchor #{anchor}"


def test_every_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^\s*-\s[^:\n]+:\s*(\S+\.md)\s*$", config.split("\nnav:", 1)[1], flags=re.MULTILINE))
    pages = {page.relative_to(DOCS).as_posix() for page in DOCS.rglob("*.md")}
    assert pages == nav, f"not in nav: {sorted(pages - nav)}; missing files: {sorted(nav - pages)}"
