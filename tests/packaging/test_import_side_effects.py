"""Importing traffik-core or traffik-testing registers nothing with the interpreter.

A library that registers an ``atexit`` hook on import changes the exit of every
program that merely imports it (and of every pytest run, once the testing
plugin is installed). Each module is imported in a fresh interpreter with
``atexit.register`` recording its callers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = {
    "traffik-core": REPO / "packages" / "traffik-core" / "src",
    "traffik-testing": REPO / "packages" / "traffik-testing" / "src",
}

_IMPORT_ALL = """
import atexit, importlib, json, sys
import logging  # noqa: F401  # the standard library registers its own hook on first import

registered = []
atexit.register = lambda function, *args, **kwargs: registered.append(
    f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', function)!s}"
)
for name in sys.argv[1:]:
    before = len(registered)
    importlib.import_module(name)
    registered[before:] = [f"{name}: {hook}" for hook in registered[before:]]
print(json.dumps(registered))
"""


def _modules(source: Path) -> list[str]:
    names = []
    for path in sorted(source.rglob("*.py")):
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("distribution", list(SOURCES))
def test_no_module_registers_an_exit_hook_on_import(distribution: str) -> None:
    modules = _modules(SOURCES[distribution])
    assert len(modules) > 5, modules  # the walk found the package
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *modules], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
