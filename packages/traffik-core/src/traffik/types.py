"""Public value types, sentinels, and the types of the callables a throttle accepts.

The callables receive the connection as ``Any``: a function annotated with
``Request`` (or ``WebSocket``) must be accepted where the throttle passes an
``HTTPConnection``, and a ``Callable`` type cannot say "any subclass".
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Optional, Protocol, Union

from traffik.rates import Rate

__all__ = [
    "EXEMPTED",
    "CostFunc",
    "Exempted",
    "IdentifierFunc",
    "RateFunc",
    "StrategyStat",
    "Stringable",
    "ThrottledHandler",
]


class Stringable(Protocol):
    """Anything with a meaningful ``str()``: the type of throttle keys."""

    def __str__(self) -> str: ...


class Exempted(enum.Enum):
    """Type of the :data:`EXEMPTED` sentinel."""

    EXEMPTED = "EXEMPTED"

    def __repr__(self) -> str:
        return "EXEMPTED"


EXEMPTED: Final = Exempted.EXEMPTED
"""Return this from an identifier to skip throttling: no quota used, no backend call."""

RateFunc = Callable[[Any, Mapping[str, Any]], Union[Rate, Awaitable[Rate]]]
"""``(connection, context) -> Rate``, async (or sync): a rate computed per request."""

CostFunc = Callable[[Any, Mapping[str, Any]], Union[int, Awaitable[int]]]
"""``(connection, context) -> int``, async (or sync): a cost computed per request (``0`` skips)."""

IdentifierFunc = Callable[[Any], Union[str, Exempted, Awaitable[Union[str, Exempted]]]]
"""``(connection) -> str``, sync or async: the client's identity, or :data:`EXEMPTED`."""

ThrottledHandler = Callable[[Any, float, Any, Mapping[str, Any]], Optional[Awaitable[None]]]
"""``(connection, wait_ms, throttle, context)``, sync or async: called for a throttled
connection; it raises to block an HTTP request."""


@dataclass(frozen=True, slots=True)
class StrategyStat:
    """Immutable snapshot of a client's quota, returned by ``throttle.stat()``.

    Attributes:
        key: The throttle key for this connection.
        rate: The active rate limit.
        hits_remaining: Cost units left right now.
        wait_ms: Milliseconds until a hit of the asked cost can pass (``0`` if it can now).
        metadata: Strategy-specific details, or ``None``.
        reset_ms: Milliseconds until the quota is whole again (``0`` when
            nothing is stored for the client). Headers use it for the reset
            time of an admitted response.
    """

    key: Union[Stringable, str]
    rate: Rate
    hits_remaining: float
    wait_ms: float
    metadata: Mapping[str, Any] | None = None
    reset_ms: float = 0.0
