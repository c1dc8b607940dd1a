"""Prometheus: count every decision of the app and serve the metrics at /metrics."""

from __future__ import annotations

import traffik.prometheus

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install

registry = CollectorRegistry()  # or none: prometheus_client.REGISTRY
# every throttle of the process reports to it
observer = traffik.prometheus.install(registry)

backend = InMemoryBackend()
items_limit = HTTPThrottle("items", rate="2/min", backend=backend)
app = FastAPI(lifespan=backend.lifespan)
install(app)  # traffik-fastapi: headers on every response, 429s in OpenAPI


@app.get("/items", dependencies=[Depends(items_limit)])
async def items() -> dict[str, bool]:
    return {"ok": True}


# A plain route: outside every throttle, and out of the OpenAPI schema.
metrics = traffik.prometheus.metrics_endpoint(registry)
app.add_route("/metrics", metrics, include_in_schema=False)
# --8<-- [end:example]


def main() -> None:
    from starlette.testclient import TestClient
    from traffik.clock import ManualClock
    from traffik.events import remove_observer

    backend.clock = ManualClock()  # frozen: the requests never straddle a window edge

    try:
        with TestClient(app) as client:
            statuses = [client.get("/items").status_code for _ in range(3)]
            scraped = client.get("/metrics").text
    finally:
        remove_observer(observer)
    assert statuses == [200, 200, 429]
    allowed = 'traffik_decisions_total{outcome="allowed",throttle="items"} 2.0'
    throttled = 'traffik_decisions_total{outcome="throttled",throttle="items"} 1.0'
    assert allowed in scraped
    assert throttled in scraped
    assert 'traffik_backend_latency_seconds_count{backend="inmemory"} 3.0' in scraped
