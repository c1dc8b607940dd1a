"""Helpers for testing Traffik and its plugins against real servers.

Shipped in traffik-testing (not in the runtime traffik-core) for third-party
backend authors and for Traffik's own suite. The server classes use the
standard library only; the pytest plugin (:mod:`traffik.testing.pytest_plugin`,
loaded by the distribution's ``pytest11`` entry point) adds the spec suite.

Example:
    >>> from traffik.testing import RedisServer
    >>> with RedisServer() as server:  # doctest: +SKIP
    ...     print(server.url)
    redis://127.0.0.1:40123
"""

from traffik.testing.__about__ import __version__
from traffik.testing._errors import ServerError, ServerNotInstalledError, ServerOptionError
from traffik.testing._memcached_server import MemcachedServer
from traffik.testing._ports import free_port
from traffik.testing._process import ServerFactory, ServerProcess
from traffik.testing._redis_server import RedisServer
from traffik.testing._running import stop_all
from traffik.testing._virtual_time import VirtualTimeLoop, run_in_virtual_time

__all__ = [
    "MemcachedServer",
    "RedisServer",
    "ServerError",
    "ServerFactory",
    "ServerNotInstalledError",
    "ServerOptionError",
    "ServerProcess",
    "VirtualTimeLoop",
    "__version__",
    "free_port",
    "run_in_virtual_time",
    "stop_all",
]
