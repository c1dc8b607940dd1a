"""metrics_endpoint: /metrics served by the application itself, in both exposition formats."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import add_observer
from traffik.exceptions import ConfigurationError
from traffik.prometheus import PrometheusObserver, metrics_endpoint


def test_fastapi_serves_the_decisions_at_metrics(registry: CollectorRegistry) -> None:
    add_observer(PrometheusObserver(registry))
    throttle = HTTPThrottle("endpoint:items", rate="2/hour", backend=InMemoryBackend(clock=ManualClock()))
    app = FastAPI()

    @app.get("/items", dependencies=[Depends(throttle)])
    async def items() -> dict[str, bool]:
        return {"ok": True}

    app.add_route("/metrics", metrics_endpoint(registry), include_in_schema=False)
    with TestClient(app) as client:
        statuses = [client.get("/items").status_code for _ in range(3)]
        response = client.get("/metrics")
    assert statuses == [200, 200, 429]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'traffik_decisions_total{outcome="allowed",throttle="endpoint:items"} 2.0' in response.text
    assert 'traffik_decisions_total{outcome="throttled",throttle="endpoint:items"} 1.0' in response.text
    assert "/metrics" not in app.openapi()["paths"]


def test_openmetrics_when_the_scraper_asks(registry: CollectorRegistry) -> None:
    PrometheusObserver(registry)
    app = Starlette(routes=[Route("/metrics", metrics_endpoint(registry))])
    with TestClient(app) as client:
        response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_the_registry_must_be_a_registry() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"^metrics_endpoint: registry must be a prometheus_client CollectorRegistry or None, got 1$",
    ):
        metrics_endpoint(1)  # type: ignore[arg-type]  # the error under test
