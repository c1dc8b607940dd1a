"""Servers started and not yet stopped: :func:`stop_all`, and the exit hook that stops leftovers.

The exit hook is registered when the first server starts, never on import:
importing :mod:`traffik.testing` (or collecting tests with its pytest plugin
installed) leaves the interpreter's exit handlers alone.
"""

from __future__ import annotations

import atexit
import contextlib
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traffik.testing._process import ServerProcess

__all__ = ["forget_running", "stop_all", "track_running"]

_running: weakref.WeakSet[ServerProcess] = weakref.WeakSet()
_exit_hook_registered = False


def stop_all(servers: Iterable[ServerProcess]) -> None:
    """Stop several servers at once: signal them all first, then wait for each.

    Some servers take a while to exit on ``SIGTERM`` (memcached about a second);
    stopping them together costs that delay once rather than once per server.

    Example:
        >>> from traffik.testing import MemcachedServer, RedisServer
        >>> stop_all([RedisServer(), MemcachedServer()])  # none started: nothing to do
    """
    servers = list(servers)
    for server in servers:
        server._request_stop()
    for server in servers:
        server.stop()


def track_running(server: ServerProcess) -> None:
    """Remember a server whose process was just spawned, so the exit hook can stop it."""
    global _exit_hook_registered
    if not _exit_hook_registered:
        atexit.register(_stop_leftover_servers)
        _exit_hook_registered = True
    _running.add(server)


def forget_running(server: ServerProcess) -> None:
    """Forget a server whose process has exited."""
    _running.discard(server)


def _stop_leftover_servers() -> None:
    # A test run that forgot (or never reached) a stop() must not leave servers behind.
    with contextlib.suppress(Exception):
        stop_all(list(_running))
