"""The dashboard of "Operating in production" is the one the script draws from a run of the docs example."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from traffik.events._dispatch import DISPATCH

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_operations_dashboard.py"
PAGE = ROOT / "docs" / "operations.md"


@pytest.fixture(autouse=True)
def _no_installed_observers() -> Iterator[None]:
    """The run adds its own observer; nothing installed by the environment may count too."""
    before, loaded = DISPATCH.observers, DISPATCH.plugins_loaded
    DISPATCH.observers, DISPATCH.plugins_loaded = (), True
    yield
    DISPATCH.observers, DISPATCH.plugins_loaded = before, loaded


@pytest.fixture(scope="module")
def dashboard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_operations_dashboard", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_dashboard_is_current(dashboard: ModuleType) -> None:
    run, scrapes = dashboard.collect()
    for output, palette in dashboard.OUTPUTS.items():
        assert output.read_text(encoding="utf-8") == dashboard.render_svg(scrapes, run, palette), (
            f"{output.name} is stale: run python scripts/make_operations_dashboard.py"
        )


def test_page_shows_each_palette_its_own_dashboard(dashboard: ModuleType) -> None:
    text = PAGE.read_text(encoding="utf-8")
    light, dark = dashboard.OUTPUTS
    assert f"img/{light.name}#only-light" in text
    assert f"img/{dark.name}#only-dark" in text


def test_rate_is_the_increase_per_second_over_the_window(dashboard: ModuleType) -> None:
    scrapes = [(0, {}), (30, {"c": 30.0}), (60, {"c": 90.0}), (90, {"c": 120.0})]
    assert dashboard.rates(scrapes, "c") == [(60, 1.5), (90, 1.5)]
