"""The in-memory backend's inline FixedWindow hit against the pure step (differential tests).

The backend answers FixedWindow's common hit (admitted in a live window)
without calling the step; every other hit goes through the step. Decisions,
``reset_ms`` and the stored state must be the step's, bounded or not, whatever
the sequence of times and costs.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.strategies._base import State, with_reset

KEY = "inmemory:api:203.0.113.7:GET:/items"
PURE = FixedWindow()

# (ms to advance, cost): same instants, window edges and costs that can never pass included.
EVENTS = st.lists(
    st.tuples(
        st.one_of(st.just(0.0), st.sampled_from([1.0, 499.0, 500.0, 999.0, 1000.0]), st.floats(0, 2500)),
        st.integers(0, 7),
    ),
    max_size=60,
)


@pytest.mark.parametrize("max_keys", [None, 1], ids=["unbounded", "bounded"])
@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 6), start=st.floats(0, 5000), events=EVENTS)
def test_fixed_window_hits_are_the_pure_steps(
    max_keys: int | None, limit: int, start: float, events: list[tuple[float, int]]
) -> None:
    clock = ManualClock(start)
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None, max_keys=max_keys)
    rate = Rate(limit=limit, milliseconds=1000)
    state: State | None = None
    for advance, cost in events:
        clock.advance(advance)
        now = clock()
        live = state if state is not None and state[0] > now else None
        state, expected = PURE.step(live, now, cost, rate)
        with_reset(expected, state, now)
        got = backend._hit_now(KEY, PURE, rate, cost)
        assert got == expected
        assert got.reset_ms == expected.reset_ms
        stored = backend._tables[PURE.NAME][hash(KEY) % backend._slots].get(KEY)
        assert stored == state or (state is None and (stored is None or stored[0] <= now))


async def test_a_fixed_window_subclass_runs_its_own_step() -> None:
    class Counting(FixedWindow):
        steps = 0

        def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, object]:  # type: ignore[override]
            Counting.steps += 1
            return super().step(state, now, cost, rate)

    backend = InMemoryBackend(clock=ManualClock(0.0), cleanup_frequency=None)
    rate = Rate.parse("5/hour")
    for _ in range(3):
        assert (await backend.hit(KEY, Counting(), rate)).allowed
    assert Counting.steps == 3
