"""Tutorial, step 4: a strict limit on logins, per address and per user name."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
install(app)
PASSWORDS = {"alice": "correct horse"}


# --8<-- [start:example]
class Login(BaseModel):
    username: str
    password: str


# per address: whatever name it tries, one client gets 10 attempts a minute
login_per_address = HTTPThrottle(
    "step4:login:address", rate="10/min", identifier=get_remote_address
)


def attempted_username(connection: HTTPConnection) -> str:
    username: str = connection.state.login_username
    return f"user:{username.casefold()}"


# per user name: a guesser with many addresses gets 3 tries every 15 minutes
login_per_username = HTTPThrottle(
    "step4:login:username", rate="3/15min", identifier=attempted_username
)


@app.post("/login")
@throttled(login_per_address)
async def login(body: Login, request: Request) -> dict[str, str]:
    # the user name is in the body: hit this throttle once FastAPI has parsed it
    request.state.login_username = body.username
    await login_per_username.hit(request)  # raises the 429 when over the limit
    if PASSWORDS.get(body.username) != body.password:
        raise HTTPException(status_code=401, detail="Wrong user name or password")
    return {"token": f"token-for-{body.username}"}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from starlette.types import Receive, Scope, Send
    from traffik.clock import ManualClock

    # time only moves when the demo says so
    clock = backend.clock = ManualClock()

    def attempt(username: str, password: str, address: str) -> int:
        # TestClient(client=...) needs Starlette 0.44: the scope is set by a wrapper
        async def from_address(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "client": (address, 50000)}, receive, send)

        client = TestClient(from_address)
        body = {"username": username, "password": password}
        return client.post("/login", json=body).status_code

    with TestClient(app):  # runs the lifespan once for the clients below
        # one guesser, many addresses: the user name's limit stops it
        tries = [attempt("alice", f"guess {n}", f"198.51.100.{n}") for n in range(5)]
        assert tries == [401, 401, 401, 429, 429]
        # one address, many names: the address's limit stops it
        names = [attempt(f"user{n}", "guess", "203.0.113.9") for n in range(11)]
        assert names == [401] * 10 + [429]
        # alice, from a fresh address, is still locked out for 15 minutes
        assert attempt("alice", "correct horse", "192.0.2.1") == 429
        clock.advance(15 * 60 * 1000)  # milliseconds
        assert attempt("alice", "correct horse", "192.0.2.1") == 200


# --8<-- [end:demo]
