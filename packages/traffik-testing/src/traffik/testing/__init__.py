"""Helpers for testing Traffik and its plugins against real servers.

Shipped with traffik-core so that third-party backend authors can reuse them.
Standard library only.

Example:
    >>> from traffik.testing import RedisServer
    >>> with RedisServer() as server:  # doctest: +SKIP
    ...     print(server.url)
    redis://127.0.0.1:40123
"""

from traffik.testing._servers import (
    MemcachedServer,
    RedisServer,
    ServerError,
    ServerFactory,
    ServerNotInstalledError,
    ServerProcess,
    free_port,
    stop_all,
)
from traffik.testing._virtual_time import VirtualTimeLoop, run_in_virtual_time

__all__ = [
    "MemcachedServer",
    "RedisServer",
    "ServerError",
    "ServerFactory",
    "ServerNotInstalledError",
    "ServerProcess",
    "VirtualTimeLoop",
    "free_port",
    "run_in_virtual_time",
    "stop_all",
]
