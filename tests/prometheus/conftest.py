"""Shared by the traffik-prometheus tests: an isolated observer list, a fresh registry, a scrape.

What the OpenTelemetry tests share too is in :mod:`tests._metrics_helpers`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests._metrics_helpers import no_observers


@pytest.fixture(autouse=True)
def _no_observers() -> Iterator[None]:
    """Each test starts with no observer and leaves none behind."""
    with no_observers():
        yield


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
