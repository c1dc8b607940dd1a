"""Request costs: some requests spend more of the quota than others."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI, Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConfigurationError


async def cost_by_size(request: Request, context: Mapping[str, Any]) -> int:
    size = int(request.query_params.get("size", "1"))
    max_cost: int = context["max_cost"]
    return min(size, max_cost)  # 0 would skip the throttle for this request


backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
# a fixed cost: 2 exports a minute
exports = HTTPThrottle("costs:exports", rate="10/min", cost=5)
batch = HTTPThrottle(
    "costs:batch", rate="10/min", cost=cost_by_size, context={"max_cost": 8}
)


@app.get("/export", dependencies=[Depends(exports)])
async def export() -> str:
    return "csv"


@app.get("/batch", dependencies=[Depends(batch)])
async def run_batch(size: int = 1) -> dict[str, int]:
    return {"size": size}


@app.get("/cheap-or-dear")
async def cheap_or_dear(request: Request, dear: bool = False) -> str:
    # a per-call cost overrides the throttle's
    await exports.hit(request, cost=10 if dear else 1)
    return "done"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        assert [client.get("/export").status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/batch", params={"size": 8}).status_code == 200  # 8 of 10
        # 3 more would be 11
        assert client.get("/batch", params={"size": 3}).status_code == 429
        assert client.get("/batch", params={"size": 2}).status_code == 200  # exactly 10
        # cost 0: not throttled
        assert client.get("/batch", params={"size": 0}).status_code == 200
        assert client.get("/cheap-or-dear", params={"dear": True}).status_code == 200
        assert client.get("/cheap-or-dear").status_code == 429
    try:
        HTTPThrottle("costs:negative", rate="1/s", cost=-1)
    except ConfigurationError as exc:
        message = str(exc)
    else:
        raise AssertionError("a negative cost is a configuration error")
    assert "cost" in message
    assert "-1" in message


# --8<-- [end:demo]
