"""Traffik: asynchronous rate limiting for Starlette and FastAPI."""

from pkgutil import extend_path

# Plugin distributions (traffik-redis, traffik-memcached, traffik-fastapi) ship
# sub-packages inside this package; merge their directories into ours.
__path__ = extend_path(__path__, __name__)

from traffik import _missing_plugins
from traffik.__about__ import __version__
from traffik.identifiers import get_remote_address
from traffik.rates import Rate
from traffik.throttles import HTTPThrottle, RequestThrottle, WebSocketThrottle
from traffik.types import EXEMPTED

_missing_plugins.install()

__all__ = [
    "EXEMPTED",
    "HTTPThrottle",
    "Rate",
    "RequestThrottle",
    "WebSocketThrottle",
    "__version__",
    "get_remote_address",
]
