"""Shared pieces of the resilience suite: a backend that fails on demand, requests, a clean monitor."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from traffik.backends.base import ErrorPolicy
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import Clock
from traffik.error_handlers import reset_failure_counts, set_failure_log_interval
from traffik.exceptions import BackendConnectionError
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy

ROOT = Path(__file__).resolve().parents[2]
# The soak test imports the repository's ``benchmarks`` package; `.venv/bin/pytest` does not put the root on sys.path.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class FlakyBackend(InMemoryBackend):
    """An in-memory store that raises (or hangs) while ``down`` is set; counts the calls it receives."""

    call_timeout = 0.05

    def __init__(
        self, namespace: str = "flaky", on_error: ErrorPolicy = "throttle", clock: Clock | None = None
    ) -> None:
        super().__init__(namespace, on_error=on_error, cleanup_frequency=None, clock=clock)
        self.down = False
        self.hang = False
        self.calls = 0
        self.error: Exception = BackendConnectionError("connection refused")

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        self.calls += 1
        await self._maybe_fail()
        return await super().hit(key, strategy, rate, cost)

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        self.calls += 1
        await self._maybe_fail()
        return await super().peek(key, strategy, rate, cost)

    async def _maybe_fail(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise type(self.error)(*self.error.args)  # a fresh exception per call, as a real client raises


def make_request(client: str = "192.0.2.1", method: str = "GET", path: str = "/") -> Request:
    """A bare HTTP request from ``client``."""
    return Request({"type": "http", "method": method, "path": path, "headers": [], "client": (client, 1)})


@pytest.fixture(autouse=True)
def clean_monitor() -> Iterator[None]:
    """Every test starts with zero failure counts and logs each cause at once."""
    reset_failure_counts()
    yield
    reset_failure_counts()
    set_failure_log_interval(60.0)
