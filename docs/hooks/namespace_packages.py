"""MkDocs hook: the generated API reference sees ``traffik`` merged from every distribution.

``traffik`` is one import package spread over several distributions: core's
``traffik/__init__.py`` (and ``traffik/backends/__init__.py``) extend their
``__path__`` with ``pkgutil.extend_path``, and traffik-redis, traffik-memcached
and traffik-fastapi ship sub-packages into that tree. Python merges the
directories at import time. griffe (the collector of mkdocstrings' Python
handler) reads source without importing it, and recognises such a package only
when ``extend_path`` is spelled ``__import__("pkgutil").extend_path(...)``; ours is
``from pkgutil import extend_path``. Without this hook griffe stops at core's
directory and ``::: traffik.backends.redis`` fails.

The hook wraps griffe's public ``ModuleFinder.find_package``: a package whose
``__init__.py`` extends its ``__path__`` becomes a namespace package over every
search path (``paths:`` in mkdocs.yml, one ``packages/*/src`` per distribution)
that has a directory of that name. ``tests/docs/test_api_reference.py`` builds
the site and checks that the plugins' modules are documented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

_EXTENDS_PATH = re.compile(r"^__path__ = (?:__import__\([\"']pkgutil[\"']\)\.)?extend_path\(__path__, __name__\)", re.M)
_find_package = griffe.ModuleFinder.find_package


def find_merged_package(self: griffe.ModuleFinder, module_name: str) -> griffe.Package | griffe.NamespacePackage:
    """``ModuleFinder.find_package``, with a package that calls ``extend_path`` merged over all search paths."""
    package = _find_package(self, module_name)
    if not isinstance(package, griffe.Package) or package.path.name != "__init__.py":
        return package
    if not _EXTENDS_PATH.search(package.path.read_text(encoding="utf-8")):
        return package
    directories = [Path(path) / module_name for path in self.search_paths if (Path(path) / module_name).is_dir()]
    return griffe.NamespacePackage(module_name, directories)


def on_startup(**kwargs: Any) -> None:
    """Install the wrapper once, before mkdocstrings creates its loader."""
    griffe.ModuleFinder.find_package = find_merged_package  # type: ignore[method-assign]
