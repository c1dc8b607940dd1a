"""Tutorial, step 3: a limit per plan, looked up on the server."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled
from traffik.tiers import Tiers


@dataclass(frozen=True)
class Account:
    name: str
    plan: str


ACCOUNTS = {"key-alice": Account("alice", "free"), "key-bob": Account("bob", "pro")}


def account_of(connection: HTTPConnection) -> Account | None:
    return ACCOUNTS.get(connection.headers.get("x-api-key", ""))


def identify(connection: HTTPConnection) -> str:
    account = account_of(connection)
    if account is not None:
        return f"account:{account.name}"
    return f"ip:{get_remote_address(connection)}"


# --8<-- [start:example]
def account_and_plan(connection: HTTPConnection) -> tuple[str, str]:
    # one lookup gives both answers: who the client is, and the plan of its account
    # (the server's record, never a client header)
    account = account_of(connection)
    if account is None:
        return (f"ip:{get_remote_address(connection)}", "anonymous")
    return (f"account:{account.name}", account.plan)


tiers = Tiers(
    account_and_plan, rates={"anonymous": "2/min", "free": "5/min", "pro": "100/min"}
)

backend = InMemoryBackend(identifier=identify)
app = FastAPI(lifespan=backend.lifespan)
install(app)
notes_limit = HTTPThrottle("step3:notes", rate=tiers.rate, identifier=tiers.identifier)
# --8<-- [end:example]

NOTES = ["buy milk", "water the plants"]


@app.get("/notes")
@throttled(notes_limit)
async def list_notes() -> list[str]:
    return NOTES


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    def statuses(headers: dict[str, str], times: int) -> list[int]:
        return [client.get("/notes", headers=headers).status_code for _ in range(times)]

    with TestClient(app) as client:
        assert statuses({}, 3) == [200, 200, 429]  # anonymous: 2 a minute
        assert statuses({"x-api-key": "key-alice"}, 6) == [200] * 5 + [429]  # free
        assert statuses({"x-api-key": "key-bob"}, 50) == [200] * 50  # pro
        # a plan header from the client changes nothing
        forged = {"x-api-key": "key-alice", "x-plan": "pro"}
        assert statuses(forged, 1) == [429]


# --8<-- [end:demo]
