"""Identifiers: who a request counts as."""

from __future__ import annotations

# --8<-- [start:example]
from starlette.requests import HTTPConnection, Request
from traffik import EXEMPTED, HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.identifiers import TrustedProxies, remote_address
from traffik.types import Exempted

backend = InMemoryBackend()


# 1. The default: the TCP peer's address. Proxy headers are never trusted by default.
by_ip = HTTPThrottle(
    "identifiers:ip", rate="100/min", backend=backend, identifier=get_remote_address
)


# 2. IPv6 clients keyed by their /64, so rotating addresses within it gains nothing.
by_network = HTTPThrottle(
    "identifiers:ipv6",
    rate="100/min",
    backend=backend,
    identifier=remote_address(ipv6_prefix=64),
)


# 3. Behind a reverse proxy: read the one header your proxy writes, and only from your
# proxies.
# nginx, ALB, Envoy, Traefik
behind_nginx = TrustedProxies(["10.0.0.0/8"], header="x-forwarded-for")
# HAProxy `option forwarded`
behind_haproxy = TrustedProxies(["10.0.0.0/8"], header="forwarded")
behind_proxy = HTTPThrottle(
    "identifiers:proxy", rate="100/min", backend=backend, identifier=behind_nginx
)


# 4. Your own: an API key, a user id... (sync or async). Return EXEMPTED to skip
# throttling.
async def api_key(connection: HTTPConnection) -> str | Exempted:
    key = connection.headers.get("x-api-key")
    if key == "internal-monitoring":
        return EXEMPTED
    return f"key:{key}" if key else f"ip:{get_remote_address(connection)}"


by_key = HTTPThrottle(
    "identifiers:key", rate="1000/hour", backend=backend, identifier=api_key
)


# --8<-- [end:example]


# --8<-- [start:demo]
async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    forged = request("203.0.113.5", {"x-forwarded-for": "1.2.3.4"})
    # a client cannot choose its own key
    assert get_remote_address(forged) == "203.0.113.5"

    proxied = request("10.0.0.2", {"x-forwarded-for": "1.2.3.4, 198.51.100.7"})
    assert behind_nginx(proxied) == "198.51.100.7"  # right-most untrusted hop
    # nginx passes a client's own Forwarded header through: it is never read unless
    # named.
    spoofed = request(
        "10.0.0.2", {"forwarded": "for=_random", "x-forwarded-for": "198.51.100.7"}
    )
    assert behind_nginx(spoofed) == "198.51.100.7"
    assert (
        behind_haproxy(
            request("10.0.0.2", {"forwarded": "for=198.51.100.7;proto=https"})
        )
        == "198.51.100.7"
    )

    # one client, one spelling
    assert get_remote_address(request("::ffff:198.51.100.7")) == "198.51.100.7"
    ipv6 = remote_address(ipv6_prefix=64)
    assert (
        ipv6(request("2001:db8:1:2::1"))
        == ipv6(request("2001:db8:1:2::ffff"))
        == "2001:db8:1:2::/64"
    )

    assert await api_key(request("203.0.113.5", {"x-api-key": "abc"})) == "key:abc"
    assert (
        await api_key(request("203.0.113.5", {"x-api-key": "internal-monitoring"}))
        is EXEMPTED
    )
    assert (
        await by_key.stat(request("203.0.113.5", {"x-api-key": "internal-monitoring"}))
        is None
    )


# --8<-- [end:demo]


def request(client: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": raw,
            "client": (client, 1),
        }
    )
