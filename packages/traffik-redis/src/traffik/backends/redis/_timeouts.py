"""How long each step of a hit on a kept connection may take.

A hit on a :class:`~traffik.backends.redis._connections.KeptConnections`
connection is bounded by the backend's ``socket_timeout`` only where the
client's own timeouts do not already bound it that tightly, so a client passed
in with no timeout at all still cannot hang a hit, and one with shorter
timeouts keeps them. A timeout that fires well after its bound says the event
loop was held up, not that Redis is down (:func:`fired_late`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio.connection import AbstractConnection, ConnectionPool

if TYPE_CHECKING:
    from traffik.backends.redis._libraries import ClientErrors

__all__ = [
    "fired_late",
    "longest_pool_timeout",
    "longest_timeout",
    "pool_bounds_commands",
    "read_reply",
    "shorter",
    "within",
]

_T = TypeVar("_T")


def shorter(bound: float | None, own: object) -> float | None:
    """``bound``, or the client's own timeout ``own`` where that one is shorter."""
    if bound is None:
        return None
    return min(bound, float(own)) if isinstance(own, (int, float)) and own > 0 else bound


def longest_timeout(connection: AbstractConnection) -> float | None:
    """The longest of the connection's own timeouts (``None`` when one of them is unbounded)."""
    limits = (connection.socket_timeout, connection.socket_connect_timeout)
    return None if None in limits else max(limit for limit in limits if limit is not None)


def fired_late(exc: BaseException, started: float, bound: float | None, timeout: type[Exception]) -> bool:
    """Whether ``exc`` is a timeout that took well over ``bound``: the event loop was held up, not Redis.

    A burst of work that holds the loop (thousands of requests arriving in one
    turn) delays every timer due meanwhile, and replies already received wait
    unread behind it: no client can tell that from a silent server. It is not
    evidence of an outage, so it fails only its own command. ``timeout`` is the
    client library's ``TimeoutError``.
    """
    if bound is None or not isinstance(exc, timeout):
        return False
    return asyncio.get_running_loop().time() - started > 1.5 * bound


def longest_pool_timeout(pool: ConnectionPool) -> float | None:
    """The longest timeout the pool gives its connections (``None`` when one of them is unbounded)."""
    options = pool.connection_kwargs
    limits = [options.get("socket_timeout"), options.get("socket_connect_timeout")]
    numbers = [float(limit) for limit in limits if isinstance(limit, (int, float)) and limit > 0]
    return max(numbers) if len(numbers) == len(limits) else None


def pool_bounds_commands(pool: ConnectionPool, seconds: float | None) -> bool:
    """Whether the pool's connections time out connecting and reading within ``seconds`` by themselves."""
    if seconds is None:
        return True
    longest = longest_pool_timeout(pool)
    return longest is not None and longest <= seconds


if sys.version_info >= (3, 11):

    async def within(seconds: float, awaitable: Awaitable[_T], timeout: type[Exception]) -> _T:
        """``await awaitable``, raising ``timeout`` (the client library's ``TimeoutError``) after ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                return await awaitable
        except TimeoutError:
            raise timeout(f"no answer from Redis within {seconds} s (RedisBackend socket_timeout)") from None

else:

    async def within(seconds: float, awaitable: Awaitable[_T], timeout: type[Exception]) -> _T:
        """``await awaitable``, raising ``timeout`` (the client library's ``TimeoutError``) after ``seconds``."""
        try:
            return await asyncio.wait_for(awaitable, seconds)
        except asyncio.TimeoutError:
            raise timeout(f"no answer from Redis within {seconds} s (RedisBackend socket_timeout)") from None


async def read_reply(connection: AbstractConnection, timeout: float | None, errors: ClientErrors) -> Any:
    """The next reply on ``connection``, within ``timeout`` seconds (``None``: the connection's own timeout).

    redis-py answers ``None`` both for a nil reply (``GET`` of a missing key) and when a timeout
    it was given expires: the time waited tells which, as a timeout never fires before its deadline.
    """
    if timeout is None:
        return await connection.read_response()
    loop = asyncio.get_running_loop()
    began = loop.time()
    reply = await connection.read_response(timeout=timeout)
    if reply is None and loop.time() - began >= timeout:
        raise errors.timeout(f"no reply from Redis within {timeout} s (RedisBackend socket_timeout)")
    return reply
