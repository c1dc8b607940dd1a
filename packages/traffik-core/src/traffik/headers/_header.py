"""One rate limit response header: a value (static or resolved) and when to send it."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, Literal, Union

from starlette.requests import HTTPConnection

from traffik.types import StrategyStat
from traffik.validation import any_of, callable_, instance_of, one_of

__all__ = ["DISABLE", "Disable", "Header", "HeaderResolver", "HeaderWhen"]

HeaderResolver = Callable[[HTTPConnection, StrategyStat, Mapping[str, Any]], str]
"""``(connection, stat, context) -> str``: computes a header's value from the hit's stat."""

HeaderCondition = Callable[[HTTPConnection, StrategyStat, Mapping[str, Any]], bool]
"""``(connection, stat, context) -> bool``: whether to send the header."""

HeaderWhen = Union[Literal["always", "throttled"], HeaderCondition]


class Disable(enum.Enum):
    """Type of :data:`Header.DISABLE <DISABLE>`."""

    DISABLE = "DISABLE"

    def __repr__(self) -> str:
        return "Header.DISABLE"


DISABLE: Final = Disable.DISABLE
"""Value that suppresses a header (in ``get_headers`` overrides or a ``Headers`` merge)."""

# Modes a header's ``when`` is reduced to at construction, so resolving is a comparison.
_ALWAYS: Final = 0
_THROTTLED: Final = 1
_CUSTOM: Final = 2


_WHEN: Final = any_of(one_of("always", "throttled"), callable_(), description="'always', 'throttled' or a callable")
_VALUE: Final = any_of(instance_of(str), callable_(), description="a string or a callable")


def _require_when(builder: str, when: object) -> HeaderWhen:
    checked: HeaderWhen = _WHEN(f"Header.{builder}", "when", when)
    return checked


def _remaining(stat: StrategyStat) -> int:
    remaining = stat.hits_remaining
    if not math.isfinite(remaining):
        return stat.rate.limit
    return max(0, math.floor(remaining))


def _reset_ms(stat: StrategyStat) -> float:
    # Throttled: the wait until a hit can pass. Admitted: the time until the
    # quota is whole again (the window resets), which the backend reported
    # with the decision; 0 when nothing is stored for the client.
    wait = stat.wait_ms
    if wait > 0:
        return wait
    return stat.reset_ms if stat.reset_ms > 0 else 0.0


def _reset_seconds(stat: StrategyStat) -> int:
    wait = _reset_ms(stat)
    if wait <= 0:
        return 0
    if not math.isfinite(wait):
        return 86_400
    return math.ceil(wait / 1_000)


def _sf_string(text: str) -> str:
    """``text`` as a structured-field string (RFC 8941): quoted, ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Header:
    """A response header: a static string or a resolver, and when to include it.

    Args:
        v: The value: a static string, or ``(connection, stat, context) -> str``
            computed from the same backend decision as the hit.
        when: ``"always"`` (every response of the throttled route),
            ``"throttled"`` (the client is out of quota: every 429, and a 200
            that spent the last unit), or ``(connection, stat, context) -> bool``.

    Raises:
        ConfigurationError: ``v`` is neither a string nor callable, or ``when`` is invalid.

    Example:
        >>> Header("docs at /limits", when="always").when
        'always'
        >>> Header.LIMIT(when="throttled").v.__name__
        'limit'
    """

    __slots__ = ("_mode", "_static", "v", "when")

    DISABLE: ClassVar[Disable] = DISABLE
    """Sentinel that suppresses a header for one ``get_headers`` call or in a merge."""

    def __init__(self, v: str | HeaderResolver, when: HeaderWhen = "throttled") -> None:
        _VALUE("Header", "v", v)
        _WHEN("Header", "when", when)
        self._static: str | None = v if isinstance(v, str) else None
        self._mode = _ALWAYS if when == "always" else _THROTTLED if when == "throttled" else _CUSTOM
        self.v = v
        self.when = when

    def applies(
        self, connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any], throttled: bool
    ) -> bool:
        """Whether to include this header, given whether the client is out of quota."""
        mode = self._mode
        if mode == _ALWAYS:
            return True
        if mode == _THROTTLED:
            return throttled
        when: HeaderCondition = self.when  # type: ignore[assignment]  # _CUSTOM means callable
        return bool(when(connection, stat, context))

    def resolve(self, connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
        """The header's value for this connection."""
        if self._static is not None:
            return self._static
        resolver: HeaderResolver = self.v  # type: ignore[assignment]  # not static means callable
        return str(resolver(connection, stat, context))

    # -- builders -----------------------------------------------------------

    @classmethod
    def LIMIT(cls, *, when: HeaderWhen) -> Header:  # reference name
        """``X-RateLimit-Limit``: the rate's limit per window."""

        def limit(connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
            return str(stat.rate.limit)

        return cls(limit, when=_require_when("LIMIT", when))

    @classmethod
    def REMAINING(cls, *, when: HeaderWhen) -> Header:  # reference name
        """``X-RateLimit-Remaining``: whole cost units left (never negative)."""

        def remaining(connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
            return str(_remaining(stat))

        return cls(remaining, when=_require_when("REMAINING", when))

    @classmethod
    def RESET_SECONDS(cls, *, when: HeaderWhen) -> Header:  # reference name
        """``Retry-After``: whole seconds (rounded up) until the window resets.

        On a throttled response: until a hit of the same cost can pass. On an
        admitted one: until the client's quota is whole again (``0`` if
        nothing is counted for the client).
        """

        def reset_seconds(connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
            return str(_reset_seconds(stat))

        return cls(reset_seconds, when=_require_when("RESET_SECONDS", when))

    @classmethod
    def RESET_MILLISECONDS(cls, *, when: HeaderWhen) -> Header:  # reference name
        """``X-RateLimit-Reset-Ms``: milliseconds (rounded up) until the window resets (as ``RESET_SECONDS``)."""

        def reset_milliseconds(connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
            wait = _reset_ms(stat)
            return str(86_400_000 if not math.isfinite(wait) else max(0, math.ceil(wait)))

        return cls(reset_milliseconds, when=_require_when("RESET_MILLISECONDS", when))

    @classmethod
    def RATELIMIT(cls, *, when: HeaderWhen, policy: str = "default") -> Header:  # reference style
        """IETF draft ``RateLimit``: ``"<policy>";r=<remaining>;t=<delta seconds>``."""
        name = _sf_string(policy)

        def ratelimit(connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
            return f"{name};r={_remaining(stat)};t={_reset_seconds(stat)}"

        return cls(ratelimit, when=_require_when("RATELIMIT", when))

    @classmethod
    def RATELIMIT_POLICY(cls, *, when: HeaderWhen, policy: str = "default") -> Header:
        """IETF draft ``RateLimit-Policy``: ``"<policy>";q=<limit>;w=<window seconds>``."""
        name = _sf_string(policy)

        def ratelimit_policy(connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]) -> str:
            rate = stat.rate
            return f"{name};q={rate.limit};w={max(1, math.ceil(rate.expire / 1_000))}"

        return cls(ratelimit_policy, when=_require_when("RATELIMIT_POLICY", when))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Header):
            return NotImplemented
        return self.v == other.v and self.when == other.when

    def __hash__(self) -> int:
        return hash((self.v, self.when))

    def __repr__(self) -> str:
        value = self.v if isinstance(self.v, str) else getattr(self.v, "__name__", repr(self.v))
        return f"Header({value!r}, when={self.when!r})"
