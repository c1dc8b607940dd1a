"""traffik-fastapi: throttled(...) as a dependency of the app, a router and a route."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import APIRouter, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
everywhere = HTTPThrottle("docs:deps:app", rate="1000/h")
api = HTTPThrottle("docs:deps:router", rate="100/min")
search = HTTPThrottle("docs:deps:route", rate="2/min")

# App-wide, router-wide and route-level throttles compose.
app = install(FastAPI(lifespan=backend.lifespan, dependencies=[throttled(everywhere)]))
router = APIRouter(prefix="/api", dependencies=[throttled(api)])


@router.get("/search", dependencies=[throttled(search)])
async def run_search(q: str) -> dict[str, str]:
    return {"q": q}


app.include_router(router)


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        statuses = [
            client.get("/api/search", params={"q": "a"}).status_code for _ in range(3)
        ]
        schema = client.get("/openapi.json").json()
    assert statuses == [200, 200, 429]
    # The schema lists the three throttles, app first.
    limits = schema["paths"]["/api/search"]["get"]["x-rate-limits"]
    assert [limit["throttle"] for limit in limits] == [
        "docs:deps:app",
        "docs:deps:router",
        "docs:deps:route",
    ]


# --8<-- [end:demo]
