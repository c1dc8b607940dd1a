"""No source module of a distribution grows past 400 lines.

A newcomer should be able to read any module in one sitting; past that size a
module usually holds two ideas, and the split is cheaper made early than late.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
MODULES = sorted((ROOT / "packages").glob("traffik-*/src/**/*.py"))


def test_the_distributions_have_modules_to_check() -> None:
    assert len(MODULES) > 50


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(ROOT / "packages")))
def test_module_is_at_most_400_lines(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"{module.relative_to(ROOT)} has {lines} lines: split it by idea"
