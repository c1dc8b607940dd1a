"""Tutorial, step 2: count requests per account, found from the API key."""

from __future__ import annotations

# --8<-- [start:example]
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled


@dataclass(frozen=True)
class Account:
    name: str
    plan: str


# your database: the server decides who a key belongs to
ACCOUNTS = {
    "key-alice-1": Account("alice", "free"),
    "key-alice-2": Account("alice", "free"),  # a second key of the same account
    "key-bob": Account("bob", "pro"),
}


def account_of(connection: HTTPConnection) -> Account | None:
    return ACCOUNTS.get(connection.headers.get("x-api-key", ""))


def identify(connection: HTTPConnection) -> str:
    account = account_of(connection)
    if account is not None:
        return f"account:{account.name}"  # all keys of an account share its quota
    return f"ip:{get_remote_address(connection)}"  # no valid key: the peer address


# the backend's identifier is the default of every throttle that sets none
backend = InMemoryBackend(identifier=identify)
app = FastAPI(lifespan=backend.lifespan)
install(app)
notes_limit = HTTPThrottle("step2:notes", rate="5/min")
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

    def statuses(key: str, times: int) -> list[int]:
        headers = {"x-api-key": key}
        return [client.get("/notes", headers=headers).status_code for _ in range(times)]

    with TestClient(app) as client:
        # alice's two keys draw on one quota of 5
        assert statuses("key-alice-1", 3) == [200, 200, 200]
        assert statuses("key-alice-2", 3) == [200, 200, 429]
        # bob has his own
        assert statuses("key-bob", 5) == [200] * 5
        # a made-up key is no new quota: it counts as the client's address
        assert statuses("key-made-up-1", 5) == [200] * 5
        assert statuses("key-made-up-2", 1) == [429]


# --8<-- [end:demo]
