"""The registry: find throttles by uid, disable and enable them.

Alone or all at once.
"""

from __future__ import annotations

# --8<-- [start:example]
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConfigurationError
from traffik.registry import GLOBAL_REGISTRY, ThrottleRegistry

registry = ThrottleRegistry()
backend = InMemoryBackend()
search = HTTPThrottle(
    "registry:search", rate="1/hour", backend=backend, registry=registry
)
upload = HTTPThrottle(
    "registry:upload", rate="1/hour", backend=backend, registry=registry
)


async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    assert registry.exist("registry:search")
    assert registry.get_throttle("registry:search") is search
    # a private registry is separate
    assert not GLOBAL_REGISTRY.exist("registry:search")

    # e.g. from an admin endpoint during an incident
    assert await registry.disable("registry:search")
    assert search.is_disabled
    for _ in range(3):
        await search.hit(request())  # returns at once: nothing counted
    await registry.enable("registry:search")

    await registry.disable_all()
    assert search.is_disabled
    assert upload.is_disabled
    await registry.enable_all()

    try:  # uids are unique per registry: reuse the object to share a quota
        HTTPThrottle(
            "registry:search", rate="5/min", backend=backend, registry=registry
        )
    except ConfigurationError as exc:
        message = str(exc)
    else:
        raise AssertionError("a duplicate uid must be rejected")
    assert "already registered" in message

    registry.clear()
    assert not registry.exist("registry:search")


# --8<-- [end:example]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.8", 1),
        }
    )
