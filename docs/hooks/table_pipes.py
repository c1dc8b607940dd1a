"""MkDocs hook: an escaped pipe in a table cell's code span renders as a plain ``|``.

The contract (``spec/api-reference.md``, included verbatim by ``docs/api-reference.md``)
writes union types in table cells as ``\\`str \\| Rate\\```: the backslash keeps the
pipe from ending the cell. GitHub's table syntax drops that backslash, also
inside code spans; Python-Markdown drops it in text but keeps it inside a code
span, so the page would show ``str \\| Rate``. The spec file must stay a byte-for-byte
copy of the shared contract, so the fix is made on the rendered HTML: inside
``<code>`` within a ``<td>``/``<th>``, ``\\|`` becomes ``|``. Code blocks and
code spans outside tables are left alone.
"""

from __future__ import annotations

import re
from typing import Any

_CELL = re.compile(r"(<t[dh]\b[^>]*>)(.*?)(</t[dh]>)", re.DOTALL)
_CODE = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.DOTALL)


def _unescape_code(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2).replace("\\|", "|") + match.group(3)


def _unescape_cell(match: re.Match[str]) -> str:
    return match.group(1) + _CODE.sub(_unescape_code, match.group(2)) + match.group(3)


def unescape_table_pipes(html: str) -> str:
    """``html`` with ``\\|`` turned into ``|`` inside code spans of table cells."""
    return _CELL.sub(_unescape_cell, html)


def on_page_content(html: str, **kwargs: Any) -> str:
    """Rewrite each page's HTML after Markdown rendered it (snippets included)."""
    return unescape_table_pipes(html)
