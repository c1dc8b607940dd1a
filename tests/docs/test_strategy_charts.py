"""The strategies chart in the docs is the one the script draws from the current strategies."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from traffik import strategies
from traffik.strategies import ThrottleStrategy

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_strategy_charts.py"


@pytest.fixture(scope="module")
def charts() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_strategy_charts", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_chart_is_current(charts: ModuleType) -> None:
    for output, palette in charts.OUTPUTS.items():
        on_disk = output.read_text(encoding="utf-8")
        assert on_disk == charts.render_svg(palette), (
            f"{output.name} is stale: run python scripts/make_strategy_charts.py"
        )


def test_page_shows_each_palette_its_own_chart(charts: ModuleType) -> None:
    """mkdocs-material shows an image whose URL ends in #only-light / #only-dark in that palette only."""
    page = (charts.ROOT / "docs" / "core-concepts" / "strategies.md").read_text(encoding="utf-8")
    shown = {"light": charts.LIGHT, "dark": charts.DARK}
    for output, palette in charts.OUTPUTS.items():
        scheme = next(name for name, candidate in shown.items() if candidate == palette)
        assert f"(img/{output.name}#only-{scheme})" in page


def _luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# The page backgrounds the charts are drawn on (transparent SVGs): white, and mkdocs-material's slate.
@pytest.mark.parametrize(("scheme", "background"), [("LIGHT", "#ffffff"), ("DARK", "#1e2129")])
def test_chart_colours_read_on_their_background(charts: ModuleType, scheme: str, background: str) -> None:
    palette = getattr(charts, scheme)
    assert 'fill="#ffffff"' not in charts.render_svg(palette), "the background must stay transparent"
    for surface in (background, palette.stripe):
        assert _contrast(palette.text, surface) >= 7  # WCAG AAA for text
        assert _contrast(palette.muted, surface) >= 4.5  # WCAG AA
        assert _contrast(palette.admit, surface) >= 3  # WCAG non-text contrast
        assert _contrast(palette.reject, surface) >= 3


def test_check_mode_reports_current(charts: ModuleType) -> None:
    assert charts.main(["--check"]) == 0


def test_chart_shows_every_strategy(charts: ModuleType) -> None:
    charted = {type(strategy) for _, strategy in charts.STRATEGIES}
    exported = {
        value
        for value in vars(strategies).values()
        if isinstance(value, type) and issubclass(value, ThrottleStrategy) and value is not ThrottleStrategy
    }
    assert exported <= charted


def _most_in_one_window(times: list[float], admitted: list[bool], window_ms: float) -> int:
    hits = [t for t, ok in zip(times, admitted, strict=True) if ok]
    return max(sum(1 for other in hits if start <= other < start + window_ms) for start in hits)


def test_simulation_replays_the_pure_step(charts: ModuleType) -> None:
    times = charts.traffic()
    fixed = charts.simulate(strategies.FixedWindow(), charts.RATE, times)
    exact = charts.simulate(strategies.SlidingWindowLog(), charts.RATE, times)
    # The bursts either side of the 1000 ms edge: a fixed window admits more than the limit
    # within one second, an exact log never does. The chart exists to show this.
    assert _most_in_one_window(times, fixed, charts.RATE.expire) > charts.RATE.limit
    assert _most_in_one_window(times, exact, charts.RATE.expire) == charts.RATE.limit
