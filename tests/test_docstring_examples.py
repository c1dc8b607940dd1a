"""Every ``>>>`` example in the shipped packages' docstrings runs and gives what it shows.

Modules are imported by their real names (``traffik.rates``, ...), the way users
import them, rather than collected from file paths.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import traffik


def _own_examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    # Re-exported objects are checked in the module that defines them.
    return [test for test in tests if test.examples and test.filename == module.__file__]


def _all_modules() -> list[str]:
    names = ["traffik"]
    for module in pkgutil.walk_packages(traffik.__path__, prefix="traffik."):
        if module.name.rsplit(".", 1)[-1] != "__main__":  # __main__ modules run on import
            names.append(module.name)
    return sorted(names)


ALL_MODULES = _all_modules()
MODULES = [name for name in ALL_MODULES if _own_examples(name)]


def test_walk_finds_every_distribution() -> None:
    expected = {"traffik.rates", "traffik.backends.inmemory", "traffik.backends.redis", "traffik.backends.memcached"}
    assert expected <= set(ALL_MODULES)
    assert "traffik.rates" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _own_examples(name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0, f"{results.failed} of {results.attempted} docstring examples failed in {name}"
