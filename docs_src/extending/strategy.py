"""A strategy of your own: a window that starts at the client's first hit."""

from __future__ import annotations

# --8<-- [start:example]
from typing import Any

from traffik import Rate
from traffik.plugins import PluginRegistry, StrategyInfo, hookimpl
from traffik.strategies import Decision, State, ThrottleStrategy


class AnchoredWindow(ThrottleStrategy):
    """Up to ``rate.limit`` units in ``rate.expire`` ms, from the window's first hit.

    State layout: ``(window_end, count)``; ``window_end`` is also the expiry.
    """

    NAME = "anchored-window"
    __slots__ = ()

    def step(
        self, state: State | None, now: float, cost: int, rate: Rate
    ) -> tuple[State | None, Decision]:
        if state is None or state[0] <= now:
            window_end, count = now + rate.expire, 0.0
        else:
            window_end, count = state[0], state[1]
        if cost <= rate.limit and count + cost <= rate.limit:
            if cost == 0:
                return state, Decision(True, 0.0, rate.limit - count)
            return (window_end, count + cost), Decision(
                True, 0.0, rate.limit - count - cost
            )
        # Denied: return the *same* state object, so a backend can skip the write.
        return state, Decision(False, window_end - now, rate.limit - count)

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        if state is None or state[0] <= now:
            return {"window_end": None, "count": 0}
        return {"window_end": state[0], "count": state[1]}


class StrategyPlugin:
    @hookimpl
    def traffik_register_strategies(self) -> list[StrategyInfo]:
        return [
            StrategyInfo(name="anchored-window", loader=f"{__name__}:AnchoredWindow")
        ]


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    rate = Rate.parse("2/s")
    strategy = AnchoredWindow()
    state, first = strategy.step(None, 300.0, 1, rate)
    state, second = strategy.step(state, 900.0, 1, rate)
    denied_state, third = strategy.step(state, 1_200.0, 1, rate)
    assert first.allowed
    assert second.allowed
    assert not third.allowed
    assert denied_state is state
    assert third.wait_ms == 100.0  # the window opened at 300 ms and lasts until 1300 ms

    registry = PluginRegistry(load_entry_points=False)
    registry.register(StrategyPlugin(), name="anchored")
    assert isinstance(registry.create_strategy("anchored-window"), AnchoredWindow)


# --8<-- [end:demo]
