"""Shared by the traffik-prometheus tests: an isolated observer list, a fresh registry, requests, a failing backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from traffik.backends.inmemory import InMemoryBackend
from traffik.events._dispatch import DISPATCH


@pytest.fixture(autouse=True)
def _no_observers() -> Iterator[None]:
    """Each test starts with no observer and leaves none behind (plugins' observers count as loaded)."""
    before, loaded = DISPATCH.observers, DISPATCH.plugins_loaded
    DISPATCH.observers, DISPATCH.plugins_loaded = (), True
    yield
    DISPATCH.observers, DISPATCH.plugins_loaded = before, loaded


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a real scrape (``generate_latest`` parsed back): (name, sorted labels) -> value."""
    text = generate_latest(registry).decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def request(host: str = "192.0.2.1", path: str = "/") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "client": (host, 1)})


class FailingBackend(InMemoryBackend):
    """Fault injection: every hit raises, as a dead store would."""

    async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        raise ConnectionError("backend down")
