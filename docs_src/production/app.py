"""Production FastAPI: Redis shared by every worker, API-key tiers, IETF headers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.redis import RedisBackend
from traffik.clock import Clock
from traffik.decorators import install, throttled
from traffik.error_handlers import CircuitBreaker, failover
from traffik.headers import DRAFT_RATELIMIT_HEADERS
from traffik.identifiers import TrustedProxies
from traffik.tiers import Tiers

# --8<-- [start:identity]


@dataclass(frozen=True)
class Account:
    id: str
    plan: str


# stands in for your database
API_KEYS = {"key-alice": Account("alice", "free"), "key-bob": Account("bob", "pro")}


async def find_account(api_key: str) -> Account | None:
    return API_KEYS.get(api_key)  # e.g. SELECT ... WHERE key_hash = :hash


# the load balancer's X-Forwarded-For, believed only from the load balancer
client_address = TrustedProxies(["10.0.0.0/8"])


async def account_and_plan(connection: HTTPConnection) -> tuple[str, str]:
    # one lookup answers both: who the client is, and its plan (the server's record,
    # never a client header)
    api_key = connection.headers.get("x-api-key")
    account = await find_account(api_key) if api_key else None
    if account is None:
        return (f"ip:{client_address(connection)}", "anonymous")
    return (f"account:{account.id}", account.plan)


tiers = Tiers(
    account_and_plan, rates={"anonymous": "5/min", "free": "20/min", "pro": "200/min"}
)


# --8<-- [end:identity]


# --8<-- [start:throttles]
# the account's plan sets the rate: one quota per account
api_limit = HTTPThrottle(
    "production:api",
    rate=tiers.rate,
    identifier=tiers.identifier,
    per_route=False,  # one quota for all the routes it guards
    headers=DRAFT_RATELIMIT_HEADERS,
)
# logins: per address, and closed while Redis is down (see "During an outage")
login_limit = HTTPThrottle(
    "production:login", rate="10/min", identifier=client_address, on_error="throttle"
)
# --8<-- [end:throttles]


# --8<-- [start:app]
def create_app(redis_url: str, *, clock: Clock | None = None) -> FastAPI:
    backend = RedisBackend(
        redis_url,
        namespace="notes-api",
        persistent=True,  # a worker's shutdown must not reset everyone's quota
        # while Redis fails: count in this worker's memory instead
        on_error=failover(
            backend=InMemoryBackend(namespace="notes-api-fallback"),
            breaker=CircuitBreaker(failure_threshold=5, recovery_timeout=30.0),
        ),
        clock=clock,  # None: Redis' own clock, the same for every worker
    )
    app = FastAPI(lifespan=backend.lifespan)
    install(app)  # headers on every response, 429s in the OpenAPI schema

    @app.get("/notes")
    @throttled(api_limit)
    async def list_notes() -> list[str]:
        return ["buy milk"]

    @app.get("/tags")
    @throttled(api_limit)
    async def list_tags() -> list[str]:
        return ["home"]

    @app.post("/login")
    @throttled(login_limit)
    async def login() -> dict[str, str]:
        return {"token": "..."}

    return app


# --8<-- [end:app]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock
    from traffik.testing import RedisServer

    # time stands still: the demo never crosses a window edge
    clock = ManualClock(36_000_000.0)
    with RedisServer() as redis, TestClient(create_app(redis.url, clock=clock)) as api:
        # anonymous: 5 a minute, one quota for /notes and /tags together
        paths = ["/notes", "/tags"] * 3
        assert [api.get(path).status_code for path in paths] == [200] * 5 + [429]
        # alice's plan, from her account, with the IETF draft headers
        alice = api.get("/notes", headers={"x-api-key": "key-alice"})
        assert alice.headers["RateLimit-Policy"] == '"default";q=20;w=60'
        assert alice.headers["RateLimit"] == '"default";r=19;t=60'
        # a forged plan header changes nothing
        forged = {"x-api-key": "key-alice", "x-plan": "pro"}
        assert api.get("/notes", headers=forged).headers["RateLimit"].count("r=18")
        # the 429 is in the OpenAPI schema
        schema = api.get("/openapi.json").json()
        assert "429" in schema["paths"]["/notes"]["get"]["responses"]

        redis.stop()  # an outage
        bob = {"x-api-key": "key-bob"}
        # the API fails over to this worker's memory: limits still apply
        assert api.get("/notes", headers=bob).status_code == 200
        # the login limit fails closed, and says why
        refused = api.post("/login")
        assert refused.status_code == 429
        assert refused.json()["detail"].startswith("Rate limit service unavailable")


# --8<-- [end:demo]
