"""Key layouts on Redis that identity options decide.

* ``per_route=False``: one stored key per client, whatever the route (no method nor path).
* ``Tiers``: the key is the identity the server-side lookup returned (the account),
  never the secret the client sent; the tier is not part of it.
"""

from __future__ import annotations

from redis.asyncio import Redis
from starlette.requests import Request
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle
from traffik.tiers import Tiers

from .conftest import BackendFactory


def _request(method: str, path: str, api_key: str = "") -> Request:
    headers = [(b"x-api-key", api_key.encode())] if api_key else []
    return Request({"type": "http", "method": method, "path": path, "headers": headers, "client": ("192.0.2.7", 1)})


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


async def test_shared_quota_is_one_key_per_client(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(1_000.0))  # FixedWindow's keys name their window's end: 3_600_000
    registry = ThrottleRegistry()
    # An hour-long window: the keys must still be there when the test reads them back.
    shared = HTTPThrottle("shared", rate="10/h", backend=backend, registry=registry, per_route=False)
    routed = HTTPThrottle("routed", rate="10/h", backend=backend, registry=registry)
    for method, path in (("GET", "/a"), ("POST", "/b"), ("GET", "/c")):
        await shared.hit(_request(method, path))
        await routed.hit(_request(method, path))
    keys = sorted(_text(key) for key in await raw_redis.keys(f"{backend.namespace}:*"))
    ns = backend.namespace
    assert keys == [
        f"{ns}:{{routed:192.0.2.7:GET:/a}}:fixed-window:3600000",
        f"{ns}:{{routed:192.0.2.7:GET:/c}}:fixed-window:3600000",
        f"{ns}:{{routed:192.0.2.7:POST:/b}}:fixed-window:3600000",
        f"{ns}:{{shared:192.0.2.7}}:fixed-window:3600000",
    ]
    stat = await shared.stat(_request("DELETE", "/anywhere"))
    assert stat is not None
    assert stat.hits_remaining == 7  # three hits on three routes, one quota


async def test_tiers_key_on_the_account_never_the_secret(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(1_000.0))  # FixedWindow's keys name their window's end: 3_600_000
    accounts = {"sk-secret-1": ("acct-1", "pro"), "sk-secret-2": ("acct-2", "free")}

    def account_of(request: Request) -> tuple[str, str]:
        return accounts[request.headers["x-api-key"]]

    tiers = Tiers(account_of, rates={"free": "2/h", "pro": "10/h"})
    throttle = HTTPThrottle(
        "api",
        rate=tiers.rate,
        identifier=tiers.identifier,
        backend=backend,
        registry=ThrottleRegistry(),
        per_route=False,
    )
    for key in ("sk-secret-1", "sk-secret-2", "sk-secret-1"):
        await throttle.hit(_request("GET", "/", key))
    keys = sorted(_text(key) for key in await raw_redis.keys(f"{backend.namespace}:*"))
    ns = backend.namespace
    assert keys == [f"{ns}:{{api:acct-1}}:fixed-window:3600000", f"{ns}:{{api:acct-2}}:fixed-window:3600000"]
    stat = await throttle.stat(_request("GET", "/", "sk-secret-1"))
    assert stat is not None
    assert (stat.rate, stat.hits_remaining) == (tiers.rates["pro"], 8)
