"""The in-memory backend's FixedWindow shortcuts against the pure step (differential tests).

The backend answers FixedWindow's common hit (admitted in a live window)
without calling the step; every other hit goes through the step. Decisions,
``reset_ms`` and the stored state must be the step's, bounded or not, whatever
the sequence of times and costs.

The admitter (a quiet lane's hit, which builds no decision) takes a hit only
when the step would admit it in a live window, writing the step's state; every
other hit it leaves untouched for the backend's full step.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.inmemory._admit import window_admitter
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import Decision, FixedWindow, TokenBucket
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


def _pure_steps(
    clock: ManualClock, rate: Rate, events: list[tuple[float, int]]
) -> Iterator[tuple[int, float, State | None, State | None, Decision]]:
    """Per event, by the pure step: its cost, its time, the live state before, the state after, the decision."""
    state: State | None = None
    for advance, cost in events:
        clock.advance(advance)
        now = clock()
        live = state if state is not None and state[0] > now else None
        state, expected = PURE.step(live, now, cost, rate)
        yield cost, now, live, state, expected


def _stored(backend: InMemoryBackend) -> State | None:
    return backend._tables[PURE.NAME][hash(KEY) % backend._slots].get(KEY)


@pytest.mark.parametrize("max_keys", [None, 1], ids=["unbounded", "bounded"])
@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 6), start=st.floats(0, 5000), events=EVENTS)
def test_fixed_window_hits_are_the_pure_steps(
    max_keys: int | None, limit: int, start: float, events: list[tuple[float, int]]
) -> None:
    clock = ManualClock(start)
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None, max_keys=max_keys)
    rate = Rate(limit=limit, milliseconds=1000)
    for cost, now, _, state, expected in _pure_steps(clock, rate, events):
        with_reset(expected, state, now)
        got = backend._hit_now(KEY, PURE, rate, cost)
        assert got == expected
        assert got.reset_ms == expected.reset_ms
        stored = _stored(backend)
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


# -- the admitter -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 6), start=st.floats(0, 5000), events=EVENTS)
def test_admitted_hits_and_states_are_the_pure_steps(limit: int, start: float, events: list[tuple[float, int]]) -> None:
    clock = ManualClock(start)
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    rate = Rate(limit=limit, milliseconds=1000)
    admitters = {cost: window_admitter(backend, PURE, rate, cost) for cost in range(8)}
    for cost, now, live, state, expected in _pure_steps(clock, rate, events):
        admit = admitters[cost]
        if admit is None:  # a cost of 0 or over the limit: never served
            assert cost == 0 or cost > limit
            admitted = backend._hit_now(KEY, PURE, rate, cost).allowed
        elif admit(KEY):
            # Taken: only an admitted hit in a live window with room.
            assert live is not None
            assert expected.allowed
            admitted = True
        else:
            assert live is None or not expected.allowed  # declined only where the full step has work to do
            admitted = backend._hit_now(KEY, PURE, rate, cost).allowed
        assert admitted == expected.allowed
        stored = _stored(backend)
        assert stored == state or (state is None and (stored is None or stored[0] <= now))


def test_a_hit_on_an_unknown_key_writes_nothing() -> None:
    backend = InMemoryBackend(clock=ManualClock(0.0), cleanup_frequency=None)
    admit = window_admitter(backend, PURE, Rate.parse("5/min"), 1)
    assert admit is not None
    assert admit(KEY) is False
    assert _stored(backend) is None


class _Subclass(FixedWindow):
    pass


@pytest.mark.parametrize(
    ("strategy", "rate", "cost", "max_keys"),
    [
        (_Subclass(), "5/min", 1, None),
        (TokenBucket(), "5/min", 1, None),
        (PURE, "5/min", 1, 100),
        (PURE, "5/min", 0, None),
        (PURE, "5/min", 6, None),
        (PURE, "unlimited", 1, None),
    ],
    ids=["fixed-window-subclass", "another-strategy", "max-keys", "cost-0", "cost-over-limit", "unlimited"],
)
def test_no_admitter_where_it_would_not_be_exact(
    strategy: FixedWindow, rate: str, cost: int, max_keys: int | None
) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, max_keys=max_keys)
    parsed = Rate() if rate == "unlimited" else Rate.parse(rate)
    assert window_admitter(backend, strategy, parsed, cost) is None


def test_a_clock_swapped_on_the_backend_decides_when_the_window_ends() -> None:
    backend = InMemoryBackend(clock=ManualClock(0.0), cleanup_frequency=None)
    rate = Rate.parse("5/s")
    admit = window_admitter(backend, PURE, rate, 1)
    assert admit is not None
    assert backend._hit_now(KEY, PURE, rate).allowed  # opens the window [0, 1000)
    assert admit(KEY)
    backend.clock = ManualClock(1000.0)  # the window has ended on the new clock
    assert admit(KEY) is False
    assert _stored(backend) == (1000.0, 2)
