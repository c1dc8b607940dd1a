"""Rates: how many cost units a client may spend in how long.

A :class:`Rate` is immutable and hashable, so it can be shared between
throttles, used as a cache key, and swapped atomically at runtime.
"""

from __future__ import annotations

import math
import re
from typing import Final

from traffik.exceptions import ConfigurationError
from traffik.validation import whole_number

__all__ = ["MAX_EXACT_INT", "Rate"]

MAX_EXACT_INT: Final = 2**53
"""The largest limit, window (ms) and cost accepted: 2**53, the largest integer every backend computes exactly.

Backends compute in doubles (Redis's Lua has no other numbers), where every
integer up to 2**53 is exact and ``n + 1 == n`` above it: a larger limit or
cost would be rounded, and a search stepping by one unit would never end.
"""

_PART: Final = whole_number(min=0)
"""Each of ``Rate``'s arguments: a whole number (not a bool) >= 0."""
_MS_PER_UNIT: Final[dict[str, int]] = {
    "ms": 1,
    "msec": 1,
    "millisecond": 1,
    "s": 1_000,
    "sec": 1_000,
    "second": 1_000,
    "m": 60_000,
    "min": 60_000,
    "minute": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "hour": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
}

# "<limit> / <multiplier?> <unit?>" or "<limit> per <multiplier?> <unit>".
# Only whole non-negative numbers; the unit (with an optional plural "s") is
# validated against _MS_PER_UNIT afterwards so the error can quote it.
_RATE_PATTERN: Final = re.compile(
    r"^\s*(?P<limit>\d+)\s*(?:/|\s+per\s+)\s*(?P<count>\d+)?\s*(?P<unit>[a-z]*)\s*$", re.ASCII
)


def _unit_ms(unit: str) -> int | None:
    if unit in _MS_PER_UNIT:
        return _MS_PER_UNIT[unit]
    if unit.endswith("s") and unit[:-1] in _MS_PER_UNIT and len(unit) > 2:
        return _MS_PER_UNIT[unit[:-1]]
    return None


def _window_text(parts: dict[str, int]) -> str:
    """The window's non-zero keyword parts, as they were passed (for error messages)."""
    given = ", ".join(f"{name}={value!r}" for name, value in parts.items() if name != "limit" and value)
    return given or "no window parts"


class Rate:
    """A limit of ``limit`` cost units per window of ``expire`` milliseconds.

    Build one from keywords or parse a string:

    Example:
        >>> Rate(limit=100, minutes=1) == Rate.parse("100/min")
        True
        >>> Rate.parse("10/5s").expire
        5000
        >>> Rate().unlimited
        True

    Args:
        limit: Cost units admitted per window. ``0`` together with a zero
            window means unlimited.
        milliseconds: Window length, milliseconds part.
        seconds: Window length, seconds part.
        minutes: Window length, minutes part.
        hours: Window length, hours part.
        days: Window length, days part.

    Raises:
        ConfigurationError: A negative or non-integer part, a positive limit
            with a zero window, a zero limit with a non-zero window (which
            would admit nothing; disable the throttle instead), or a limit or
            window (in ms) above :data:`MAX_EXACT_INT` (2**53).
    """

    __slots__ = ("_hash", "expire", "is_subsecond", "limit", "rpd", "rph", "rpm", "rps", "unlimited")

    limit: int
    """Cost units admitted per window."""
    expire: int
    """Window length in milliseconds."""
    rps: float
    """Limit per second (``inf`` when unlimited)."""
    rpm: float
    """Limit per minute (``inf`` when unlimited)."""
    rph: float
    """Limit per hour (``inf`` when unlimited)."""
    rpd: float
    """Limit per day (``inf`` when unlimited)."""
    is_subsecond: bool
    """``True`` when the window is shorter than one second."""
    unlimited: bool
    """``True`` for ``Rate()`` / ``"0/0"``: every request passes."""
    _hash: int

    def __init__(
        self,
        limit: int = 0,
        milliseconds: int = 0,
        seconds: int = 0,
        minutes: int = 0,
        hours: int = 0,
        days: int = 0,
    ) -> None:
        parts = {
            "limit": limit,
            "milliseconds": milliseconds,
            "seconds": seconds,
            "minutes": minutes,
            "hours": hours,
            "days": days,
        }
        for name, value in parts.items():
            _PART("Rate", name, value)
        expire = milliseconds + seconds * 1_000 + minutes * 60_000 + hours * 3_600_000 + days * 86_400_000
        if limit > MAX_EXACT_INT:
            raise ConfigurationError(
                f"Rate limit must be at most 2**53 = {MAX_EXACT_INT} (the largest integer backends "
                f"compute exactly), got {limit!r}"
            )
        if expire > MAX_EXACT_INT:
            raise ConfigurationError(
                f"Rate window must be at most 2**53 = {MAX_EXACT_INT} ms (about 285,000 years), "
                f"got {expire!r} ms from {_window_text(parts)}"
            )
        if limit > 0 and expire == 0:
            raise ConfigurationError(
                f"Rate limit={limit!r} needs a window longer than 0 ms (e.g. Rate(limit={limit}, seconds=1))"
            )
        if limit == 0 and expire > 0:
            raise ConfigurationError(
                f"Rate limit=0 with a {expire} ms window admits nothing; use Rate() or '0/0' for unlimited, "
                "or disable the throttle to block traffic"
            )
        unlimited = limit == 0
        setattr_ = object.__setattr__
        setattr_(self, "limit", limit)
        setattr_(self, "expire", expire)
        setattr_(self, "unlimited", unlimited)
        setattr_(self, "is_subsecond", 0 < expire < 1_000)
        per_ms = math.inf if unlimited else limit / expire
        setattr_(self, "rps", per_ms * 1_000)
        setattr_(self, "rpm", per_ms * 60_000)
        setattr_(self, "rph", per_ms * 3_600_000)
        setattr_(self, "rpd", per_ms * 86_400_000)
        setattr_(self, "_hash", hash((limit, expire)))

    @classmethod
    def parse(cls, rate: str) -> Rate:
        """Parse a rate string such as ``"100/min"``, ``"10/5s"`` or ``"5 per hour"``.

        Case-insensitive and whitespace-tolerant; units may be plural
        (``"20 per 2 mins"``). ``"0/0"`` is unlimited.

        Raises:
            ConfigurationError: (also a ``ValueError``) quoting the string.
        """
        if not isinstance(rate, str):
            raise ConfigurationError(f"Rate.parse expects a string, got {rate!r}")
        match = _RATE_PATTERN.match(rate.lower())
        if match is None:
            raise ConfigurationError(
                f"Invalid rate {rate!r}: expected '<limit>/<unit>', '<limit>/<n><unit>' or "
                "'<limit> per <n> <unit>' (units: ms, s, m/min, h/hr, d/day)"
            )
        limit = int(match["limit"])
        count_text, unit = match["count"], match["unit"]
        if not unit:
            # Only "0/0" may omit the unit: it is the documented unlimited rate.
            if count_text is not None and int(count_text) == 0 and limit == 0:
                return cls()
            raise ConfigurationError(f"Invalid rate {rate!r}: missing time unit (ms, s, min, hour or day)")
        unit_ms = _unit_ms(unit)
        if unit_ms is None:
            raise ConfigurationError(
                f"Invalid rate {rate!r}: unknown time unit {unit!r} (use ms, s, m/min, h/hr or d/day)"
            )
        count = 1 if count_text is None else int(count_text)
        if count == 0:
            raise ConfigurationError(f"Invalid rate {rate!r}: the window must be longer than 0")
        try:
            return cls(limit=limit, milliseconds=count * unit_ms)
        except ConfigurationError as exc:
            raise ConfigurationError(f"Invalid rate {rate!r}: {exc}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Rate is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Rate is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rate):
            return self.limit == other.limit and self.expire == other.expire
        return NotImplemented

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Rate], tuple[int, int]]:
        return (Rate, (self.limit, self.expire))

    def __repr__(self) -> str:
        return f"Rate(limit={self.limit}, milliseconds={self.expire})"

    def __str__(self) -> str:
        if self.unlimited:
            return "0/0"
        for unit, ms in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1_000)):
            if self.expire % ms == 0:
                count = self.expire // ms
                return f"{self.limit}/{unit}" if count == 1 else f"{self.limit}/{count}{unit}"
        return f"{self.limit}/{self.expire}ms"
