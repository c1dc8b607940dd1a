"""Shared by the traffik-opentelemetry tests: an isolated observer list, the SDK's in-memory reader and exporter.

What the Prometheus tests share too is in :mod:`tests._metrics_helpers`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests._metrics_helpers import no_observers


@pytest.fixture(autouse=True)
def _no_observers() -> Iterator[None]:
    """Each test starts with no observer and leaves none behind."""
    with no_observers():
        yield


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider
    provider.shutdown()


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Metric name -> its data points, from one collection of the reader."""
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    if data is None:
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def counts(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, Any], ...], float]:
    """The sums of counter ``name`` by sorted attributes."""
    result: dict[tuple[tuple[str, Any], ...], float] = {}
    for point in points(reader).get(name, []):
        assert isinstance(point, NumberDataPoint)
        result[tuple(sorted((point.attributes or {}).items()))] = point.value
    return result


def histograms(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, Any], ...], HistogramDataPoint]:
    result: dict[tuple[tuple[str, Any], ...], HistogramDataPoint] = {}
    for point in points(reader).get(name, []):
        assert isinstance(point, HistogramDataPoint)
        result[tuple(sorted((point.attributes or {}).items()))] = point
    return result
