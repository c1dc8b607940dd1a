"""Identifiers: who a request counts as."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from traffik import EXEMPTED, HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.identifiers import TrustedProxies
from traffik.types import Exempted

backend = InMemoryBackend()


# 1. The default: the TCP peer's address. Proxy headers are never trusted by default.
by_ip = HTTPThrottle("identifiers:ip", rate="100/min", backend=backend, identifier=get_remote_address)


# 2. Behind a reverse proxy: read X-Forwarded-For / Forwarded, but only from your proxies.
behind_proxy = HTTPThrottle(
    "identifiers:proxy", rate="100/min", backend=backend, identifier=TrustedProxies(["10.0.0.0/8"])
)


# 3. Your own: an API key, a user id... (sync or async). Return EXEMPTED to skip throttling.
async def api_key(connection: HTTPConnection) -> str | Exempted:
    key = connection.headers.get("x-api-key")
    if key == "internal-monitoring":
        return EXEMPTED
    return f"key:{key}" if key else f"ip:{get_remote_address(connection)}"


by_key = HTTPThrottle("identifiers:key", rate="1000/hour", backend=backend, identifier=api_key)


def request(client: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw, "client": (client, 1)})


async def main() -> None:
    forged = request("203.0.113.5", {"x-forwarded-for": "1.2.3.4"})
    assert get_remote_address(forged) == "203.0.113.5"  # a client cannot choose its own key

    proxied = request("10.0.0.2", {"x-forwarded-for": "1.2.3.4, 198.51.100.7"})
    assert TrustedProxies(["10.0.0.0/8"])(proxied) == "198.51.100.7"  # right-most untrusted hop

    assert await api_key(request("203.0.113.5", {"x-api-key": "abc"})) == "key:abc"
    assert await api_key(request("203.0.113.5", {"x-api-key": "internal-monitoring"})) is EXEMPTED
    assert await by_key.stat(request("203.0.113.5", {"x-api-key": "internal-monitoring"})) is None
