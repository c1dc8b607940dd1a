"""griffe extension: a Google ``Example:`` section renders as an examples section.

Traffik's docstrings head their doctests ``Example:`` (Google style, as Sphinx's
napoleon reads it). griffe's Google parser knows only the plural ``Examples:``
as a section and turns ``Example:`` into an admonition whose body is Markdown,
so ``>>>`` lines would render as nested block quotes. This extension renames the
heading before griffe parses the docstring (parsing is lazy, at render time), so
the doctests render as Python code. The source stays as written: the doctests
run in the test suite either way.

Loaded by mkdocstrings' Python handler (``extensions:`` in mkdocs.yml).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)


def rename_example_headings(docstring: str) -> str:
    """``docstring`` with each line ``Example:`` (a section heading) read as ``Examples:``."""
    return _EXAMPLE_HEADING.sub(r"\g<indent>Examples:", docstring)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:`` on every collected object."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, once the object tree is complete and before rendering."""
        if obj.docstring is not None:
            obj.docstring.value = rename_example_headings(obj.docstring.value)
