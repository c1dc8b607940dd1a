"""Testing an app that uses Traffik: inject the backend and move a manual clock."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry


def create_app(
    backend: InMemoryBackend, registry: ThrottleRegistry | None = None
) -> FastAPI:
    """The application factory: tests pass their own backend (and registry)."""
    throttle = HTTPThrottle("app:items", rate="3/min", registry=registry)
    app = FastAPI(lifespan=backend.lifespan)

    @app.get("/items", dependencies=[Depends(throttle)])
    async def items() -> list[str]:
        return []

    app.state.throttle = throttle
    return app


def test_limit_resets_after_a_minute() -> None:
    clock = ManualClock()
    # a fresh registry per test
    app = create_app(InMemoryBackend(clock=clock), ThrottleRegistry())
    with TestClient(app) as client:
        assert [client.get("/items").status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        clock.advance(60_000)  # no sleeping: move time instead
        assert client.get("/items").status_code == 200


def test_throttling_can_be_switched_off() -> None:
    app = create_app(InMemoryBackend(), ThrottleRegistry())
    with TestClient(app) as client:
        client.portal.call(app.state.throttle.disable)
        assert all(client.get("/items").status_code == 200 for _ in range(10))


def main() -> None:
    test_limit_resets_after_a_minute()
    test_throttling_can_be_switched_off()
