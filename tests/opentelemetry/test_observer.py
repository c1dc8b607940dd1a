"""OpenTelemetryObserver: metrics read by the SDK's in-memory reader, span events by its in-memory exporter."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import BreakerEvent, DecisionEvent, FailoverEvent, Outcome, add_observer
from traffik.exceptions import ConfigurationError
from traffik.opentelemetry import OpenTelemetryObserver

from tests._metrics_helpers import FailingBackend, decide_in_threads
from tests._metrics_helpers import hits as _hits
from tests.opentelemetry.conftest import counts, histograms


async def test_decisions_by_throttle_and_outcome(meter_provider: MeterProvider, reader: InMemoryMetricReader) -> None:
    add_observer(OpenTelemetryObserver(meter_provider))
    backend = InMemoryBackend(clock=ManualClock())
    assert await _hits(HTTPThrottle("otel:api", rate="3/hour", backend=backend), 5) == 2
    assert await _hits(HTTPThrottle("otel:shadow", rate="1/hour", backend=backend, shadow=True), 2) == 0
    assert counts(reader, "traffik.decisions") == {
        (("traffik.outcome", "allowed"), ("traffik.throttle", "otel:api")): 3,
        (("traffik.outcome", "throttled"), ("traffik.throttle", "otel:api")): 2,
        (("traffik.outcome", "allowed"), ("traffik.throttle", "otel:shadow")): 1,
        (("traffik.outcome", "shadow-throttled"), ("traffik.throttle", "otel:shadow")): 1,
    }
    # Throttled and shadow-throttled decisions are always near the limit; 3/3 is too.
    assert counts(reader, "traffik.near_limit") == {
        (("traffik.throttle", "otel:api"),): 3,
        (("traffik.throttle", "otel:shadow"),): 2,
    }


async def test_counts_are_cumulative_across_collections(
    meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    add_observer(OpenTelemetryObserver(meter_provider))
    throttle = HTTPThrottle("otel:cumulative", rate="100/hour", backend=InMemoryBackend(clock=ManualClock()))
    await _hits(throttle, 2)
    key = (("traffik.outcome", "allowed"), ("traffik.throttle", "otel:cumulative"))
    assert counts(reader, "traffik.decisions")[key] == 2
    await _hits(throttle, 3)
    assert counts(reader, "traffik.decisions")[key] == 5


@pytest.mark.parametrize("on_error", ["allow", "throttle"])
async def test_backend_errors_by_backend_and_policy(
    meter_provider: MeterProvider, reader: InMemoryMetricReader, on_error: str
) -> None:
    add_observer(OpenTelemetryObserver(meter_provider))
    throttle = HTTPThrottle("otel:down", rate="5/hour", backend=FailingBackend(), on_error=on_error)  # type: ignore[arg-type]  # a literal policy
    await _hits(throttle, 2)
    assert counts(reader, "traffik.backend.errors") == {
        (("traffik.backend", "inmemory"), ("traffik.policy", on_error)): 2
    }


async def test_backend_latency_histogram(meter_provider: MeterProvider, reader: InMemoryMetricReader) -> None:
    add_observer(OpenTelemetryObserver(meter_provider))
    await _hits(HTTPThrottle("otel:latency", rate="2/hour", backend=InMemoryBackend(clock=ManualClock())), 4)
    point = histograms(reader, "traffik.backend.latency")[(("traffik.backend", "inmemory"),)]
    assert point.count == 4
    assert 0 < point.sum < 4 * 2.5
    assert point.explicit_bounds[0] == 0.0001


async def test_latency_can_be_left_out(meter_provider: MeterProvider, reader: InMemoryMetricReader) -> None:
    add_observer(OpenTelemetryObserver(meter_provider, latency=False))
    await _hits(HTTPThrottle("otel:nolatency", rate="2/hour", backend=InMemoryBackend(clock=ManualClock())), 1)
    assert histograms(reader, "traffik.backend.latency") == {}
    assert counts(reader, "traffik.decisions")  # the counters still report


async def test_attributes_never_carry_the_client_identity(
    meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    add_observer(OpenTelemetryObserver(meter_provider))
    throttle = HTTPThrottle("otel:many", rate="1/hour", backend=InMemoryBackend(clock=ManualClock()))
    hosts = [f"198.51.100.{n}" for n in range(1, 101)]
    for host in hosts:
        await _hits(throttle, 2, host=host)
    decisions = counts(reader, "traffik.decisions")
    assert sorted(decisions) == [
        (("traffik.outcome", "allowed"), ("traffik.throttle", "otel:many")),
        (("traffik.outcome", "throttled"), ("traffik.throttle", "otel:many")),
    ]
    values = {value for key in decisions for _, value in key}
    assert not values & set(hosts)


async def test_each_decision_is_an_event_on_the_current_span(
    meter_provider: MeterProvider, tracer_provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    add_observer(OpenTelemetryObserver(meter_provider))
    throttle = HTTPThrottle("otel:span", rate="1/hour", backend=InMemoryBackend(clock=ManualClock()))
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("GET /items"):
        await _hits(throttle, 1)
    with tracer.start_as_current_span("GET /items again"):
        await _hits(throttle, 1)
    await _hits(throttle, 1)  # no current span: nothing to add to, and nothing fails
    first, second = spans.get_finished_spans()
    assert [event.name for event in first.events] == ["traffik.decision"]
    attributes = dict(first.events[0].attributes or {})
    assert attributes["traffik.throttle"] == "otel:span"
    assert attributes["traffik.outcome"] == "allowed"
    assert attributes["traffik.strategy"] == "fixed-window"
    assert attributes["traffik.backend"] == "inmemory"
    assert attributes["traffik.cost"] == 1
    assert attributes["traffik.remaining"] == 0
    assert attributes["traffik.limit"] == 1
    assert attributes["traffik.shadow"] is False
    assert "192.0.2.1" not in {str(value) for value in attributes.values()}
    assert "traffik.throttled" not in (first.attributes or {})
    assert dict(second.events[0].attributes or {})["traffik.outcome"] == "throttled"
    assert (second.attributes or {})["traffik.throttled"] is True


async def test_span_events_can_be_turned_off(
    meter_provider: MeterProvider, tracer_provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    add_observer(OpenTelemetryObserver(meter_provider, span_events=False))
    throttle = HTTPThrottle("otel:nospan", rate="5/hour", backend=InMemoryBackend(clock=ManualClock()))
    with tracer_provider.get_tracer("test").start_as_current_span("GET /"):
        await _hits(throttle, 1)
    assert spans.get_finished_spans()[0].events == ()


def test_failovers_and_breaker_transitions(meter_provider: MeterProvider, reader: InMemoryMetricReader) -> None:
    observer = OpenTelemetryObserver(meter_provider)
    observer.on_failover(FailoverEvent("redis", "inmemory", "breaker open"))
    observer.on_breaker(BreakerEvent("inmemory", "closed", "open"))
    observer.on_breaker(BreakerEvent("inmemory", "open", "half_open"))
    assert counts(reader, "traffik.failovers") == {
        (("traffik.from_backend", "redis"), ("traffik.to_backend", "inmemory")): 1
    }
    assert counts(reader, "traffik.breaker.transitions") == {
        (("traffik.breaker", "inmemory"), ("traffik.state", "half_open")): 1,
        (("traffik.breaker", "inmemory"), ("traffik.state", "open")): 1,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"meter_provider": "global"}, "meter_provider must be an opentelemetry MeterProvider or None, got 'global'"),
        ({"span_events": 1}, "span_events must be True or False, got 1"),
        ({"latency": "yes"}, "latency must be True or False, got 'yes'"),
    ],
    ids=["meter_provider", "span_events", "latency"],
)
def test_invalid_configuration_names_the_parameter(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        OpenTelemetryObserver(**kwargs)  # type: ignore[arg-type]  # the errors under test
    assert str(info.value) == f"OpenTelemetryObserver: {message}"


def test_decisions_from_many_threads_are_all_counted(
    meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    # Counts are kept without a lock, in one cell per thread (each cell has one writer),
    # summed when read: every decision of every thread counts, thread switches forced often.
    observer = OpenTelemetryObserver(meter_provider, latency=False, span_events=False)
    event = DecisionEvent(
        "otel:threads", "fixed-window", "inmemory", Outcome.ALLOWED, 1, 5.0, 10, 0.0, 0.001, True, False
    )
    decide_in_threads(observer, event, threads=4, each=20_000)
    assert counts(reader, "traffik.decisions") == {
        (("traffik.outcome", "allowed"), ("traffik.throttle", "otel:threads")): 80_000
    }
    assert counts(reader, "traffik.near_limit") == {(("traffik.throttle", "otel:threads"),): 80_000}
