"""A strategy is a pure step: (state, now_ms, cost, rate) -> (new_state, decision)."""

from __future__ import annotations

from traffik import Rate
from traffik.strategies import FixedWindow, State

rate = Rate.parse("2/s")
strategy = FixedWindow()

state: State | None = None
state, first = strategy.step(state, 0.0, 1, rate)
state, second = strategy.step(state, 10.0, 1, rate)
state, third = strategy.step(state, 20.0, 1, rate)


def main() -> None:
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert third.wait_ms == 980.0  # the window [0, 1000) ends in 980 ms
    assert state is not None
    # (window_end, count): state[0] is always the expiry
    assert tuple(state) == (1000.0, 2.0)
    assert strategy.describe(state, 20.0, rate)["window_end"] == 1000.0
