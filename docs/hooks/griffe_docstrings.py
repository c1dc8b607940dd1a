"""griffe extension: Traffik's docstrings, written for Sphinx's napoleon, render as Markdown.

Two habits of the docstrings that griffe's Google parser reads differently:

* ``Example:`` heads the doctests. griffe knows only the plural ``Examples:`` as a
  section and turns ``Example:`` into an admonition whose body is Markdown, so
  ``>>>`` lines would render as nested block quotes. The heading is renamed.
* Sphinx roles (``:class:`~traffik.middleware.ThrottleMiddleware```, ``:func:`install```)
  would show literally. A role whose target is a full ``traffik.`` path becomes an
  optional cross-reference (a link when the generated reference documents the target
  under that path, else inline code); any other becomes inline code. ``~`` shows only
  the last component, as in Sphinx.

The rewrite happens once the object tree is complete and before griffe parses the
docstring (parsing is lazy, at render time). The source stays as written: the
doctests run in the test suite either way. Loaded by mkdocstrings' Python handler
(``extensions:`` in mkdocs.yml).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|exc|data|obj|const):`(?P<target>[^`]+)`")


def rename_example_headings(docstring: str) -> str:
    """``docstring`` with each line ``Example:`` (a section heading) read as ``Examples:``."""
    return _EXAMPLE_HEADING.sub(r"\g<indent>Examples:", docstring)


def _role_to_markdown(match: re.Match[str]) -> str:
    target = match.group("target")
    short = target.startswith("~")
    path = target.lstrip("~.")
    shown = path.rsplit(".", 1)[-1] if short else path
    if path.startswith("traffik."):
        # An optional autoref: a link where the reference documents the target, else plain code
        # (a private module, a name the reference shows under another path).
        return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'
    return f"`{shown}`"


def replace_sphinx_roles(docstring: str) -> str:
    """``docstring`` with Sphinx roles as Markdown cross-references or inline code."""
    return _ROLE.sub(_role_to_markdown, docstring)


class NapoleonDocstrings(griffe.Extension):
    """Rewrite ``Example:`` headings and Sphinx roles on every collected object."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, once the object tree is complete and before rendering."""
        if obj.docstring is not None:
            obj.docstring.value = replace_sphinx_roles(rename_example_headings(obj.docstring.value))
