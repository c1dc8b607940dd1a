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
    on_disk = charts.OUTPUT.read_text(encoding="utf-8")
    assert on_disk == charts.render_svg(), "the chart is stale: run python scripts/make_strategy_charts.py"


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
