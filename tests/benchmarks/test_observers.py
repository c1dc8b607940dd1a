"""The observers scenario times every observer it names, the metrics distributions' included (no timing asserted)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from traffik.events._dispatch import DISPATCH

from benchmarks._observers import observer_cost


@pytest.fixture(autouse=True)
def _restore_observers() -> Iterator[None]:
    before, loaded = DISPATCH.observers, DISPATCH.plugins_loaded
    yield
    DISPATCH.observers, DISPATCH.plugins_loaded = before, loaded


async def test_every_observer_gets_a_row() -> None:
    registered = DISPATCH.observers
    rows = await observer_cost(operations=200, repeats=1)
    assert [row["observer"] for row in rows] == [
        "none",
        "no-op",
        "prometheus",
        "opentelemetry",
        "opentelemetry, no latency",
        "none, fresh request",
        "request build (less)",
        "backend step (floor)",
    ]
    assert rows[0]["added_us"] == 0
    assert all(isinstance(row["median_us"], float) and row["median_us"] > 0 for row in rows)
    assert DISPATCH.observers == registered  # each variant takes its observer away again


async def test_the_fresh_request_hit_is_put_beside_the_backend_step_and_its_goal() -> None:
    rows = {row["observer"]: row for row in await observer_cost(operations=200, repeats=3)}
    fresh = rows["none, fresh request"]
    assert fresh["goal"] == 1.5
    assert isinstance(fresh["ratio_to_step"], float)
    assert fresh["ratio_to_step"] > 0
    assert fresh["met"] is (fresh["ratio_to_step"] <= 1.5)
    assert "goal" not in rows["backend step (floor)"]
