"""A rate computed per request: a limit per plan, the plan found on the server."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.tiers import Tiers

# Your accounts table: API key -> (account id, plan). The plan is the server's fact.
ACCOUNTS = {"sk-live-free": ("acct-1", "free"), "sk-live-pro": ("acct-2", "pro")}


async def account_of(connection: HTTPConnection) -> tuple[str, str]:
    """Who the client is and its plan, in one lookup (a database query in real life)."""
    account = ACCOUNTS.get(connection.headers.get("x-api-key", ""))
    if account is None:  # no key, or an unknown one: the anonymous tier, per address
        host = connection.client.host if connection.client else "unknown"
        return (f"ip:{host}", "anonymous")
    return account


tiers = Tiers(
    account_of, rates={"anonymous": "1/min", "free": "2/min", "pro": "1000/min"}
)

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("rates:plans", rate=tiers.rate, identifier=tiers.identifier)


@app.get("/", dependencies=[Depends(throttle)])
async def index() -> str:
    return "ok"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        free = {"x-api-key": "sk-live-free"}
        assert [client.get("/", headers=free).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        pro = {"x-api-key": "sk-live-pro"}
        assert all(client.get("/", headers=pro).status_code == 200 for _ in range(10))
        # claiming a plan in a header changes nothing: the plan comes from the lookup
        forged = {"x-api-key": "sk-live-free", "x-plan": "pro"}
        assert client.get("/", headers=forged).status_code == 429


# --8<-- [end:demo]
