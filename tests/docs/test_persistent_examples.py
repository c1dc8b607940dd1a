"""Every Redis and Memcached backend the docs build says ``persistent=``, ``True`` unless shown on purpose.

The reference keeps ``persistent=False`` as the default, which clears the
namespace at shutdown: with a store shared by several workers, one worker's
deploy resets every client's quota. Examples get copied, so each one shows
the setting a shared deployment needs (a test fixture may say
``persistent=False`` explicitly, to clear after the tests). Checked in the runnable examples
(``docs_src``), in the Python blocks of the pages and in the README.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_BACKENDS = {"RedisBackend", "MemcachedBackend"}
_FENCE = re.compile(r"^```(?:python|py|\{\.python[^}]*\})\s*$(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`([^`\n]*Backend\([^`\n]*)`")


def _sources() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "docs_src").rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(ROOT))
        for number, block in enumerate(_FENCE.findall(text), 1):
            yield f"{name} (block {number})", block
        if page.name == "README.md":  # the pages' inline spans name the forms of `url`, the README's is a recipe
            for span in _INLINE.findall(text):
                yield f"{name} (`{span}`)", span


def _non_persistent(source: str) -> Iterator[int]:
    """Line numbers of shared-backend constructions without ``persistent=True``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return  # a signature written in prose (`RedisBackend(url, ...)`), not an example
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in SHARED_BACKENDS or not node.args:
            continue  # RedisBackend(clock=...) in prose names a parameter; an example passes the store
        persistent = [keyword.value for keyword in node.keywords if keyword.arg == "persistent"]
        if not (persistent and isinstance(persistent[0], ast.Constant) and isinstance(persistent[0].value, bool)):
            yield node.lineno


def test_every_shared_backend_in_the_docs_is_persistent() -> None:
    offenders = [f"{where}:{line}" for where, source in _sources() for line in _non_persistent(source)]
    assert offenders == [], "add persistent=True to these Redis/Memcached examples:\n" + "\n".join(offenders)
