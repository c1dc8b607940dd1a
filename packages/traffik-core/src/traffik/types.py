"""Public value types and sentinels."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, Union

from traffik.rates import Rate

__all__ = ["EXEMPTED", "Exempted", "Stringable", "StrategyStat"]


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
