"""Rules: fire a throttle only for some paths, methods or requests.

Bypass it for others.
"""

from __future__ import annotations

# --8<-- [start:example]
import re

from fastapi import Depends, FastAPI, Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.registry import BypassThrottleRule, ThrottleRegistry, ThrottleRule

# API key -> plan: looked up on the server, never a plan the client names in a header
PLAN_OF_KEY = {"sk-live-pro": "pro"}


async def is_free_plan(request: Request) -> bool:
    return PLAN_OF_KEY.get(request.headers.get("x-api-key", ""), "free") == "free"


registry = ThrottleRegistry()  # or leave it out: GLOBAL_REGISTRY
backend = InMemoryBackend()
throttle = HTTPThrottle(
    "rules:api",
    rate="1/min",
    registry=registry,
    rules=[
        # all ANDed
        ThrottleRule(path="/api/**", methods={"POST", "PUT"}, predicate=is_free_plan),
        BypassThrottleRule(path="/api/*/health"),  # `*` is exactly one segment
    ],
)
# Rules can also be attached later, through the registry, by uid.
registry.add_rules("rules:api", BypassThrottleRule(path=re.compile(r"^/api/internal/")))

app = FastAPI(lifespan=backend.lifespan, dependencies=[Depends(throttle)])


@app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT"])
async def api(rest: str) -> dict[str, str]:
    return {"path": rest}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        # GET: no rule matches, not throttled
        assert client.get("/api/items").status_code == 200
        assert client.get("/api/items").status_code == 200
        assert client.post("/api/items").status_code == 200
        assert client.post("/api/items").status_code == 429  # free plan, second POST
        assert (
            client.post("/api/items", headers={"x-api-key": "sk-live-pro"}).status_code
            == 200
        )
        # a client-sent plan is ignored
        assert client.post("/api/items", headers={"x-plan": "pro"}).status_code == 429
        assert client.post("/api/v1/health").status_code == 200  # bypassed
        assert client.post("/api/v1/health").status_code == 200
        # bypassed by the registry rule
        assert client.post("/api/internal/jobs").status_code == 200
        assert client.post("/api/internal/jobs").status_code == 200


# --8<-- [end:demo]
