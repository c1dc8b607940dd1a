"""The start-up check: Redis answers, accepts the credentials and the TLS handshake, and has the scripts.

Run by :meth:`RedisBackend.initialize` (so by the lifespan): a wrong host,
password, CA or port fails when the app starts, with a message that names the
server, instead of every request later going through ``on_error``. Loading the
scripts up front (``SCRIPT LOAD``, on every primary of a cluster) also spares
the first hits the ``NOSCRIPT`` round trip.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Final, Union, cast

from traffik.backends.redis._libraries import loaded_errors
from traffik.backends.redis._scripts import LuaScript
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError, ConfigurationError

from redis.asyncio import Redis, RedisCluster

__all__ = ["STARTUP_LIMIT_S", "check_server", "registered_scripts"]

STARTUP_LIMIT_S: Final = 10.0
"""Seconds the whole check may take, whatever the client's own timeouts (a passed-in client may have none)."""


async def check_server(
    client: Union[Redis, RedisCluster], server: str, scripts: Sequence[LuaScript], *, cluster: bool
) -> None:
    """Ping ``client``'s server(s) and load ``scripts`` there; ``server`` names them in messages.

    ``cluster`` says whether ``client`` is a cluster client (of redis-py or valkey-py).

    Raises:
        ConfigurationError: Redis rejected the credentials, or the TLS handshake failed.
        BackendTimeoutError: Redis did not answer in time.
        BackendConnectionError: Redis cannot be reached.
        BackendError: Redis answered the check with another error.
    """
    try:
        await asyncio.wait_for(_check(client, scripts, cluster), STARTUP_LIMIT_S)
    except Exception as exc:
        raise _startup_error(exc, server) from exc


def registered_scripts(backend: str) -> list[LuaScript]:
    """Every Lua script registered for ``backend`` with the plugin registry (built-in and third-party)."""
    from traffik.plugins import get_plugin_registry

    registry = get_plugin_registry()
    found = (registry.strategy_implementation(backend, name) for name in registry.strategies())
    return [script for script in found if isinstance(script, LuaScript)]


async def _check(client: Union[Redis, RedisCluster], scripts: Sequence[LuaScript], cluster: bool) -> None:
    if cluster:
        nodes = cast(RedisCluster, client)
        await nodes.initialize()  # reads the slot map from the seeds
        for script in scripts:
            await nodes.execute_command("SCRIPT LOAD", script.source, target_nodes=RedisCluster.PRIMARIES)
        return
    await client.ping()
    for script in scripts:
        await client.script_load(script.source)


def _startup_error(exc: Exception, server: str) -> Exception:
    if isinstance(exc, (BackendError, ConfigurationError)):
        return exc
    known = loaded_errors()
    auth = _find(exc, tuple(errors.authentication for errors in known))
    if auth is not None:
        return ConfigurationError(f"RedisBackend: Redis at {server} rejected the credentials of the url: {auth}")
    tls = _find(exc, ssl.SSLError)
    if tls is not None:
        return ConfigurationError(
            f"RedisBackend: the TLS handshake with Redis at {server} failed (check ssl_ca_certs, "
            f"ssl_certfile, ssl_keyfile and the server's certificate): {tls}"
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, *(errors.timeout for errors in known))):
        return BackendTimeoutError(f"RedisBackend: Redis at {server} did not answer at start-up in time: {exc}")
    if isinstance(exc, (OSError, *(errors.connection for errors in known), *(errors.cluster for errors in known))):
        return BackendConnectionError(f"RedisBackend: cannot reach Redis at {server} at start-up: {exc}")
    if isinstance(exc, tuple(errors.base for errors in known)):
        return BackendError(f"RedisBackend: Redis at {server} failed the start-up check: {type(exc).__name__}: {exc}")
    return exc


def _find(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    """``exc`` or the first exception it was raised from (or while handling) that is a ``kind``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
