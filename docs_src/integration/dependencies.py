"""FastAPI dependencies: per route, per router, per app.

And one quota shared by several routes.
"""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import APIRouter, Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend

backend = InMemoryBackend()

# One route.
search_throttle = HTTPThrottle("deps:search", rate="2/min")

# Every route of a router (each route still counts separately: use_method=True is per
# method + path).
admin_throttle = HTTPThrottle("deps:admin", rate="100/min")
admin = APIRouter(prefix="/admin", dependencies=[Depends(admin_throttle)])

# One quota across several routes: the same throttle object with per_route=False.
export_quota = HTTPThrottle("deps:exports", rate="2/hour", per_route=False)

app = FastAPI(lifespan=backend.lifespan)


@app.get("/search", dependencies=[Depends(search_throttle)])
async def search(q: str = "") -> dict[str, str]:
    return {"q": q}


@admin.get("/stats")
async def stats() -> dict[str, int]:
    return {"users": 1}


@app.get("/exports/csv", dependencies=[Depends(export_quota)])
async def export_csv() -> str:
    return "a,b"


@app.get("/exports/json", dependencies=[Depends(export_quota)])
async def export_json() -> list[str]:
    return ["a", "b"]


app.include_router(admin)


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        assert [client.get("/search").status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/admin/stats").status_code == 200
        # The two export routes draw from one quota of 2.
        assert client.get("/exports/csv").status_code == 200
        assert client.get("/exports/json").status_code == 200
        assert client.get("/exports/csv").status_code == 429


# --8<-- [end:demo]
