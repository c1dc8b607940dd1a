"""Fixtures for throttle tests: a manual clock, an in-memory backend on it, a private registry."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import starlette.exceptions
from starlette.requests import Request
from starlette.types import ASGIApp
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry

# Starlette 1.x prefers httpx2 for its TestClient and warns (an error here)
# when it falls back to httpx, which is what the test requirements install. The
# warning class is recent: Starlette 0.41, the oldest supported, has neither the
# class nor the warning, so there is nothing to silence there.
_STARLETTE_DEPRECATION: type[Warning] | None = getattr(starlette.exceptions, "StarletteDeprecationWarning", None)
with warnings.catch_warnings():
    if _STARLETTE_DEPRECATION is not None:
        warnings.simplefilter("ignore", _STARLETTE_DEPRECATION)
    from starlette.testclient import TestClient, WebSocketDenialResponse


class CountingBackend(InMemoryBackend):
    """An in-memory backend that counts its calls (to prove a path makes none)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cleanup_frequency=None, **kwargs)
        self.hits = 0
        self.peeks = 0

    async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        self.hits += 1
        return await super().hit(key, strategy, rate, cost)

    async def peek(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        self.peeks += 1
        return await super().peek(key, strategy, rate, cost)


class FailingBackend(InMemoryBackend):
    """Fault injection: every call raises (or hangs, with ``hang=True``)."""

    def __init__(self, hang: bool = False, **kwargs: Any) -> None:
        super().__init__(cleanup_frequency=None, **kwargs)
        self.hang = hang
        self.call_timeout = 0.05
        self.calls = 0

    async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        self.calls += 1
        if self.hang:
            import asyncio

            await asyncio.Event().wait()
        raise ConnectionError("backend down")

    async def peek(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        return await self.hit(key, strategy, rate, cost)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_000_000.0)


@pytest.fixture
def backend(clock: ManualClock) -> CountingBackend:
    return CountingBackend(clock=clock)


@pytest.fixture
def registry() -> ThrottleRegistry:
    return ThrottleRegistry()


RequestFactory = Callable[..., Request]


@pytest.fixture
def make_request() -> RequestFactory:
    """Build a bare HTTP request scope (no app) for direct ``hit()`` calls."""

    def build(
        path: str = "/items",
        method: str = "GET",
        client: str = "203.0.113.1",
        headers: dict[str, str] | None = None,
    ) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        return Request({"type": "http", "method": method, "path": path, "client": (client, 1234), "headers": raw})

    return build


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def http_client() -> ClientFactory:
    """``http_client(app)``: an httpx client that calls ``app`` in-process (client 203.0.113.1)."""

    def build(app: ASGIApp, client: tuple[str, int] = ("203.0.113.1", 1234)) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=client), base_url="http://testserver")

    return build


@pytest.fixture
def failing_backend() -> Callable[..., FailingBackend]:
    """``failing_backend(hang=False)``: a backend whose every call fails (or hangs)."""
    return FailingBackend


@pytest.fixture
def test_client() -> type[TestClient]:
    """Starlette's ``TestClient`` class (imported without its httpx deprecation warning)."""
    return TestClient


@pytest.fixture
def denial() -> type[WebSocketDenialResponse]:
    """The exception ``TestClient`` raises when a WebSocket handshake is denied."""
    return WebSocketDenialResponse
