"""OpenTelemetry: decision metrics through your meter provider, span events."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import Awaitable, Callable

import traffik.opentelemetry
from fastapi import Depends, FastAPI, Request, Response
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install

# Your SDK set-up: OTLP exporters in production, in-memory ones here.
reader = InMemoryMetricReader()
meter_provider = MeterProvider(metric_readers=[reader])
spans = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))

# None (the default): the global meter provider
observer = traffik.opentelemetry.install(meter_provider)

backend = InMemoryBackend()
search_limit = HTTPThrottle("search", rate="1/min", backend=backend)
app = FastAPI(lifespan=backend.lifespan)
install(app)  # traffik-fastapi: headers on every response, 429s in OpenAPI
tracer = tracer_provider.get_tracer("app")


@app.middleware("http")  # what opentelemetry-instrumentation-asgi does for you
async def server_span(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    with tracer.start_as_current_span(f"{request.method} {request.url.path}"):
        return await call_next(request)


@app.get("/search", dependencies=[Depends(search_limit)])
async def search() -> dict[str, bool]:
    return {"ok": True}


# --8<-- [end:example]


def main() -> None:
    from opentelemetry.sdk.metrics.export import NumberDataPoint
    from starlette.testclient import TestClient
    from traffik.clock import ManualClock
    from traffik.events import remove_observer

    backend.clock = ManualClock()  # frozen: the requests never straddle a window edge

    try:
        with TestClient(app) as client:
            statuses = [client.get("/search").status_code for _ in range(2)]
    finally:
        remove_observer(observer)
    assert statuses == [200, 429]

    # The metrics, as a reader collects them.
    data = reader.get_metrics_data()
    assert data is not None
    decisions = {
        point.attributes["traffik.outcome"]: point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "traffik.decisions"
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint) and point.attributes
    }
    assert decisions == {"allowed": 1, "throttled": 1}

    # Each request's span carries its decision as an event.
    first, second = spans.get_finished_spans()
    assert [event.name for event in first.events] == ["traffik.decision"]
    event = second.events[0]
    assert event.attributes is not None
    assert event.attributes["traffik.throttle"] == "search"
    assert event.attributes["traffik.outcome"] == "throttled"
    assert second.attributes is not None
    assert second.attributes["traffik.throttled"] is True
