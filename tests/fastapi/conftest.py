"""Fixtures for the FastAPI integration: a manual clock, an in-memory backend on it, clients."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry

ClientFactory = Callable[[ASGIApp], httpx.AsyncClient]


@pytest.fixture
def clock() -> ManualClock:
    # A whole number of hours: fixed windows start at the first request.
    return ManualClock(36_000_000.0)


@pytest.fixture
def backend(clock: ManualClock) -> InMemoryBackend:
    return InMemoryBackend(clock=clock, cleanup_frequency=None)


@pytest.fixture
def registry() -> ThrottleRegistry:
    return ThrottleRegistry()


@pytest.fixture
def http_client() -> ClientFactory:
    """``http_client(app)``: an httpx client calling ``app`` in-process over ``ASGITransport``."""

    def build(app: ASGIApp) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.1", 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    return build


@pytest.fixture
def test_client() -> type[TestClient]:
    """FastAPI's ``TestClient`` (a sync client; it runs the app in a portal thread)."""
    return TestClient
