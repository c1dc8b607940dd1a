"""Backend contract: one backend object serves one event loop after another.

Applications meet several event loops more often than they think: Starlette's
``TestClient`` runs each request on a new loop unless used as a context
manager (and each ``with`` block on another), ``asyncio.run`` makes a loop per
call, and test frameworks often make one per test. Connections belong to the
loop that opened them, so a backend must not carry them from one loop into the
next; the counters, which live in the store, carry on.

These tests are synchronous on purpose: each ``asyncio.run`` is its own loop.
"""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from traffik.backends.base import ThrottleBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing.spec._backends import BackendBuilder

RATE = Rate.parse("5/min")
T = TypeVar("T")


def _run(step: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(step())``: a fresh event loop, closed afterwards.

    Connections a closed loop opened can only be closed as they are collected,
    which asyncio reports with a ``ResourceWarning`` (silent unless warnings are
    errors): expected here, so ignored, and collected now rather than in a later test.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        result = asyncio.run(_call(step))
        gc.collect()
    return result


async def _call(step: Callable[[], Awaitable[T]]) -> T:
    return await step()


def _namespace(test: str) -> str:
    return f"spec-loops-{test}-{os.getpid()}"


async def _hits(backend: ThrottleBackend, count: int) -> list[bool]:
    return [(await backend.hit("client", FixedWindow(), RATE)).allowed for _ in range(count)]


async def _clear_and_close(backend: ThrottleBackend) -> None:
    try:
        await backend.clear()
    finally:
        await backend.close()


def test_hits_from_successive_event_loops_share_one_quota(
    traffik_backend_builder: BackendBuilder, traffik_clock: ManualClock
) -> None:
    """HTTPThrottle.method[hit]: hits count against one quota whichever event loop runs them."""
    backend = traffik_backend_builder(_namespace("hits"), False, traffik_clock)
    try:
        first = _run(lambda: _hits(backend, 3))
        second = _run(lambda: _hits(backend, 3))
        assert first + second == [True] * RATE.limit + [False]
    finally:
        _run(lambda: _clear_and_close(backend))


def test_persistent_data_survives_lifespans_on_separate_event_loops(
    traffik_backend_builder: BackendBuilder, traffik_clock: ManualClock
) -> None:
    """InMemoryBackend.param[persistent]: ``persistent=True`` keeps data across lifespans, each on its own loop."""
    backend = traffik_backend_builder(_namespace("lifespans"), True, traffik_clock)

    async def session(hits: int) -> list[bool]:
        async with backend.lifespan(None):
            return await _hits(backend, hits)

    try:
        assert _run(lambda: session(RATE.limit)) == [True] * RATE.limit
        assert _run(lambda: session(1)) == [False]
    finally:
        _run(lambda: _clear_and_close(backend))
