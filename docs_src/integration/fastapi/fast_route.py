"""traffik-fastapi: FastThrottledRoute, throttles run before FastAPI's dependencies."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import APIRouter, Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import FastThrottledRoute, install, throttled

backend = InMemoryBackend()
api = HTTPThrottle("docs:fast:api", rate="100/min")
search = HTTPThrottle("docs:fast:search", rate="2/min")
sessions_opened: list[str] = []


async def database_session() -> str:
    # stands for real work a throttled request should not cost
    sessions_opened.append("session")
    return "session"


app = install(FastAPI(lifespan=backend.lifespan))
# Declared as in the dependency mode; the route class runs the throttles itself.
router = APIRouter(
    prefix="/api", route_class=FastThrottledRoute, dependencies=[throttled(api)]
)


@router.get("/search", dependencies=[Depends(search)])
async def run_search(
    q: str, session: str = Depends(database_session)
) -> dict[str, str]:
    return {"q": q, "session": session}


app.include_router(router)


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        first = client.get("/api/search", params={"q": "a"})
        second = client.get("/api/search", params={"q": "b"})
        third = client.get("/api/search", params={"q": "c"})
        schema = client.get("/openapi.json").json()
    assert first.json() == {"q": "a", "session": "session"}
    assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
    assert third.headers["retry-after"] == "60"
    # The throttled request was refused before FastAPI solved any dependency.
    assert sessions_opened == ["session", "session"]
    # Documented as in the dependency mode: the 429 and both policies.
    operation = schema["paths"]["/api/search"]["get"]
    assert "429" in operation["responses"]
    limits = [limit["throttle"] for limit in operation["x-rate-limits"]]
    assert limits == ["docs:fast:api", "docs:fast:search"]


# --8<-- [end:demo]
