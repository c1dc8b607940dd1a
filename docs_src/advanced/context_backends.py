"""Context-aware backends: pick the backend per request (per tenant, per test...)."""

from __future__ import annotations

# --8<-- [start:example]
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends import get_active_backend
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConnectionThrottled

# no fixed backend
throttle = HTTPThrottle("ctx:api", rate="1/hour", dynamic_backend=True)


async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    tenant_a = InMemoryBackend(namespace="tenant-a")
    tenant_b = InMemoryBackend(namespace="tenant-b")

    async with tenant_a:  # the active backend for this context
        assert get_active_backend() is tenant_a
        await throttle.hit(request())
        try:
            await throttle.hit(request())
        except ConnectionThrottled:
            pass
        else:
            raise AssertionError("tenant A's quota is spent")

    async with tenant_b:  # the same throttle now counts in tenant B's storage
        await throttle.hit(request())


# --8<-- [end:example]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.3", 1),
        }
    )
