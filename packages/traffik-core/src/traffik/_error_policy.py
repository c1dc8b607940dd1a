"""What a throttle does when its backend fails, and the timeout that bounds every backend call.

Policies (``on_error``): ``"allow"`` admits the request (fail open),
``"throttle"`` answers as if the client were over its limit (fail closed, the
default), ``"raise"`` re-raises the backend's error, and a callable decides per
error. A backend call that does not finish within its timeout fails with
:class:`~traffik.exceptions.BackendTimeoutError`, which goes through the same
policy, so a hung server never hangs a request.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypedDict, TypeVar

from traffik.backends.base import DEFAULT_CALL_TIMEOUT, ErrorPolicy
from traffik.exceptions import BackendTimeoutError, ConfigurationError

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from traffik.backends.base import ThrottleBackend
    from traffik.rates import Rate
    from traffik.strategies import ThrottleStrategy

__all__ = [
    "DEFAULT_BACKEND_TIMEOUT",
    "ERROR_WAIT_MS",
    "ExceptionInfo",
    "backend_timeout",
    "bounded",
    "resolve_error",
]

T = TypeVar("T")

DEFAULT_BACKEND_TIMEOUT: Final = DEFAULT_CALL_TIMEOUT
"""Seconds a backend call may take before it counts as failed (override with ``backend.call_timeout``)."""

ERROR_WAIT_MS: Final = 1_000.0
"""Wait announced to a client rejected because the backend failed (``on_error="throttle"``)."""


class ExceptionInfo(TypedDict):
    """What an ``on_error`` callable receives as its second argument.

    ``key``, ``strategy``, ``rate`` and ``consume`` describe the failed call
    (``consume`` is ``False`` for a :meth:`check`/:meth:`stat` peek), so a
    policy can repeat it on the same or another backend
    (:mod:`traffik.error_handlers`).
    """

    exception: BaseException
    throttle: Any
    backend: ThrottleBackend
    cost: int
    context: Mapping[str, Any]
    key: str
    strategy: ThrottleStrategy
    rate: Rate
    consume: bool


def _synchronous_hit_methods() -> frozenset[object]:
    # The in-memory backend never awaits between reading and writing a state:
    # its calls cannot hang, so they skip the timer (it costs on every hit).
    try:
        from traffik.backends.inmemory import InMemoryBackend
    except ImportError:  # pragma: no cover  # core always ships it
        return frozenset()
    return frozenset({InMemoryBackend.hit, InMemoryBackend.peek})


_SYNCHRONOUS: frozenset[object] | None = None


def backend_timeout(backend: ThrottleBackend) -> float | None:
    """Seconds to bound ``backend``'s calls by, or ``None`` when they cannot block.

    Decided once per backend by the throttle (not per hit).
    """
    global _SYNCHRONOUS
    if _SYNCHRONOUS is None:
        _SYNCHRONOUS = _synchronous_hit_methods()
    cls = type(backend)
    if cls.hit in _SYNCHRONOUS and cls.peek in _SYNCHRONOUS:
        return None
    timeout = getattr(backend, "call_timeout", DEFAULT_BACKEND_TIMEOUT)
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigurationError(f"{cls.__name__}: call_timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


if sys.version_info >= (3, 11):

    async def bounded(awaitable: Awaitable[T], timeout: float, what: str) -> T:
        """Await ``awaitable`` for at most ``timeout`` seconds, else raise :class:`BackendTimeoutError`."""
        try:
            async with asyncio.timeout(timeout):
                return await awaitable
        except TimeoutError:
            raise BackendTimeoutError(f"{what} did not answer within {timeout} s") from None

else:  # pragma: no cover  # CI runs 3.11+

    async def bounded(awaitable: Awaitable[T], timeout: float, what: str) -> T:
        """Await ``awaitable`` for at most ``timeout`` seconds, else raise :class:`BackendTimeoutError`."""
        try:
            return await asyncio.wait_for(awaitable, timeout)
        except asyncio.TimeoutError:
            raise BackendTimeoutError(f"{what} did not answer within {timeout} s") from None


async def resolve_error(
    policy: ErrorPolicy,
    connection: HTTPConnection,
    info: ExceptionInfo,
) -> float | None:
    """Apply ``policy`` to a failed backend call.

    Returns:
        ``None`` to admit the request, or the wait in milliseconds to reject it with.

    Raises:
        The backend's exception for ``"raise"`` (or when the callable says so),
        or whatever the callable raises.

    A callable is called as ``policy(connection, info)`` (sync or async) and
    may return ``"allow"`` / ``"throttle"`` / ``"raise"``, a wait in
    milliseconds (``0`` or less admits), a bool (``True`` rejects) or ``None``
    (admits).
    """
    # Imported here: traffik.error_handlers imports this module.
    from traffik.error_handlers._monitor import forget_failure, note_failure

    exception = info["exception"]
    counted = note_failure(info["backend"], exception)
    decision: object = policy
    if callable(policy):
        try:
            decision = policy(connection, info)
            if inspect.isawaitable(decision):
                decision = await decision
        finally:
            if counted:
                forget_failure(exception)
    elif counted:
        forget_failure(exception)
    if decision is None or decision is False or decision == "allow":
        return None
    if decision is True or decision == "throttle":
        return ERROR_WAIT_MS
    if decision == "raise":
        raise info["exception"]
    if isinstance(decision, (int, float)):
        return None if decision <= 0 else float(decision)
    raise ConfigurationError(
        f"on_error callable {policy!r} returned {decision!r}; expected 'allow', 'throttle', 'raise', "
        "a wait in milliseconds, a bool or None"
    )
