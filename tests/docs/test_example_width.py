"""Examples shown on a page fit the content column, and every section a page includes exists.

The content column of the site shows about 88 characters of code; a longer line
scrolls sideways. A page shows a whole ``docs_src/`` file (``--8<-- "docs_src/x.py"``)
or one section of it (``--8<-- "docs_src/x.py:example"``, the lines between
``# --8<-- [start:example]`` and ``# --8<-- [end:example]``), so that the test
scaffolding of ``main()`` stays in the file, run by ``test_examples.py``, and off the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
WIDTH = 88
INCLUDE = re.compile(r'--8<--\s+"(docs_src/[^":]+\.py)(?::(\w+))?"')
MARKER = re.compile(r"^\s*# --8<-- \[(start|end):(\w+)\]\s*$")


def _includes() -> list[tuple[str, str | None]]:
    found = {
        (path, section)
        for page in sorted(DOCS.rglob("*.md"))
        for path, section in INCLUDE.findall(page.read_text(encoding="utf-8"))
    }
    return sorted(((path, section or None) for path, section in found), key=lambda item: (item[0], item[1] or ""))


def shown_lines(text: str, section: str | None) -> list[tuple[int, str]]:
    """``(line number, line)`` of what a page shows: the section, or the whole file, without markers."""
    shown: list[tuple[int, str]] = []
    inside = section is None
    for number, line in enumerate(text.splitlines(), start=1):
        marker = MARKER.match(line)
        if marker is not None:
            if marker.group(2) == section:
                inside = marker.group(1) == "start"
            continue
        if inside:
            shown.append((number, line))
    return shown


def test_sections_are_read_as_snippets_reads_them() -> None:
    text = "a\n# --8<-- [start:example]\nb\n# --8<-- [end:example]\n# --8<-- [start:demo]\nc\n# --8<-- [end:demo]\n"
    assert shown_lines(text, "example") == [(3, "b")]
    assert shown_lines(text, "demo") == [(6, "c")]
    assert shown_lines(text, None) == [(1, "a"), (3, "b"), (6, "c")]


def test_includes_are_found() -> None:
    assert ("docs_src/quickstart/app.py", "example") in _includes()


@pytest.mark.parametrize(("path", "section"), _includes(), ids=lambda value: value or "whole")
def test_shown_example_fits_the_content_column(path: str, section: str | None) -> None:
    shown = shown_lines((ROOT / path).read_text(encoding="utf-8"), section)
    assert any(line.strip() for _, line in shown), f"{path}: no section {section!r}, or it is empty"
    too_long = [f"line {number}: {len(line)} characters" for number, line in shown if len(line) > WIDTH]
    assert not too_long, f"{path} shows lines wider than {WIDTH} characters: {too_long}"
