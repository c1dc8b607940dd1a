"""The client libraries whose clients a RedisBackend accepts: redis-py, and valkey-py where it is installed.

valkey-py is a fork of redis-py (``valkey.asyncio.Valkey`` and
``ValkeyCluster`` are ``redis.asyncio.Redis`` and ``RedisCluster`` under new
names), with the same methods, pools and connections but exception classes of
its own: a ``valkey.exceptions.TimeoutError`` is not a
``redis.exceptions.TimeoutError``. So the backend uses a valkey client as it
uses a redis-py one, and wherever it catches or tells apart errors it asks the
:class:`ClientErrors` of the library at hand.

traffik never imports valkey-py itself: a valkey client can only exist once the
application has imported ``valkey.asyncio``, so that is looked up in
``sys.modules``, and an installation without valkey-py pays nothing.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Union

from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster

__all__ = ["REDIS_PY", "ClientErrors", "ClientLibrary", "ValkeyClient", "library_of", "loaded_errors"]

if TYPE_CHECKING:
    from valkey.asyncio import Valkey, ValkeyCluster

    ValkeyClient = Union[Valkey, ValkeyCluster]
    """A valkey-py asyncio client, for type checkers."""
else:  # valkey-py is optional: at run time the name only has to exist
    ValkeyClient = Any

_VALKEY_CLIENTS: Final = "valkey.asyncio"
_VALKEY_ERRORS: Final = "valkey.exceptions"


@dataclass(frozen=True)
class ClientErrors:
    """The exception classes of one client library that the backend tells apart."""

    base: type[Exception]
    """What every error a server or connection causes derives from (``RedisError``), cluster ones aside."""
    connection: type[Exception]
    timeout: type[Exception]
    response: type[Exception]
    """An error reply: the connection is still in step."""
    read_only: type[Exception]
    """``READONLY``: the server is a replica now."""
    no_script: type[Exception]
    authentication: type[Exception]
    cluster: type[Exception]
    """No node can serve the command (not a ``base`` subclass)."""
    pool_full: type[Exception] | None
    """What a full pool raises, where the library has a class for it (else, as redis-py before
    7.2 does, a plain ``connection`` error saying "Too many connections")."""
    not_run: tuple[type[Exception], ...] = ()
    """Cluster error replies that say the node did not run the command (``MOVED``, ``ASK``,
    ``TRYAGAIN``, ``CLUSTERDOWN``): sending it where the client's routing says is no retry."""


@dataclass(frozen=True)
class ClientLibrary:
    """A client library: its asyncio client classes and its errors."""

    name: str
    client: type
    """The single-server (or Sentinel-managed) asyncio client class."""
    cluster_client: type
    errors: ClientErrors


REDIS_PY: Final = ClientLibrary(
    "redis-py",
    Redis,
    RedisCluster,
    ClientErrors(
        base=redis_errors.RedisError,
        connection=redis_errors.ConnectionError,
        timeout=redis_errors.TimeoutError,
        response=redis_errors.ResponseError,
        read_only=redis_errors.ReadOnlyError,
        no_script=redis_errors.NoScriptError,
        authentication=redis_errors.AuthenticationError,
        cluster=redis_errors.RedisClusterException,
        pool_full=redis_errors.MaxConnectionsError,
        not_run=(redis_errors.AskError, redis_errors.TryAgainError, redis_errors.ClusterDownError),
    ),
)


def library_of(client: object) -> ClientLibrary | None:
    """The library ``client`` is an asyncio client of, or ``None`` (not a client this backend can use)."""
    if isinstance(client, (Redis, RedisCluster)):
        return REDIS_PY
    if _VALKEY_CLIENTS in sys.modules:
        valkey = _valkey_py()
        if isinstance(client, (valkey.client, valkey.cluster_client)):
            return valkey
    return None


def loaded_errors() -> tuple[ClientErrors, ...]:
    """The errors of every library loaded in this process: redis-py's, and valkey-py's once it is imported."""
    if _VALKEY_ERRORS in sys.modules:
        return (REDIS_PY.errors, _valkey_errors())
    return (REDIS_PY.errors,)


@functools.cache
def _valkey_py() -> ClientLibrary:
    """valkey-py, looked at only when the application has imported ``valkey.asyncio`` already."""
    from valkey.asyncio import Valkey, ValkeyCluster

    return ClientLibrary("valkey-py", Valkey, ValkeyCluster, _valkey_errors())


@functools.cache
def _valkey_errors() -> ClientErrors:
    from valkey import exceptions as valkey_errors

    return ClientErrors(
        base=valkey_errors.ValkeyError,
        connection=valkey_errors.ConnectionError,
        timeout=valkey_errors.TimeoutError,
        response=valkey_errors.ResponseError,
        read_only=valkey_errors.ReadOnlyError,
        no_script=valkey_errors.NoScriptError,
        authentication=valkey_errors.AuthenticationError,
        cluster=valkey_errors.ValkeyClusterException,
        # Its pools raise ConnectionError("Too many connections"), as redis-py's did before 7.2.
        pool_full=None,
        not_run=(valkey_errors.AskError, valkey_errors.TryAgainError, valkey_errors.ClusterDownError),
    )
