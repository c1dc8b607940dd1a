"""Process-wide defaults, from the environment or set in code.

Every lock Traffik takes (TTL, blocking, blocking timeout) falls back to these
values when its owner (a backend or a throttle) leaves the setting at ``None``.
Shadow mode and the near-limit ratio apply to every throttle that leaves its
own ``shadow`` / ``near_limit_ratio`` at ``None``, and are read on every hit
that needs them, so changing them takes effect at once, without a restart.

Environment variables are read lazily, at the first ``get_*`` call, so a test
or an application can set them after importing Traffik. A value set with a
``set_*`` function wins over the environment. An empty variable counts as
unset.

Example:
    >>> from traffik import config
    >>> config.set_lock_blocking_timeout(2.5)
    >>> config.get_lock_blocking_timeout()
    2.5
    >>> config.reset_config()
"""

from __future__ import annotations

import math
import os
from typing import Final

from traffik.exceptions import ConfigurationError
from traffik.validation import boolean, non_negative_number, optional

__all__ = [
    "DEFAULT_NEAR_LIMIT_RATIO",
    "TRAFFIK_DEFAULT_BLOCKING",
    "TRAFFIK_DEFAULT_BLOCKING_TIMEOUT",
    "TRAFFIK_DEFAULT_LOCK_TTL",
    "TRAFFIK_NEAR_LIMIT_RATIO",
    "TRAFFIK_SHADOW",
    "get_lock_blocking",
    "get_lock_blocking_timeout",
    "get_lock_ttl",
    "get_near_limit_ratio",
    "get_shadow",
    "reset_config",
    "set_lock_blocking",
    "set_lock_blocking_timeout",
    "set_lock_ttl",
    "set_near_limit_ratio",
    "set_shadow",
]

TRAFFIK_DEFAULT_LOCK_TTL: Final = "TRAFFIK_DEFAULT_LOCK_TTL"
"""Environment variable: seconds a lock holder may keep a lock (empty or unset: no limit)."""
TRAFFIK_DEFAULT_BLOCKING: Final = "TRAFFIK_DEFAULT_BLOCKING"
"""Environment variable: wait for a held lock (``true``/``false``/``1``/``0``/``yes``/``no``)."""
TRAFFIK_DEFAULT_BLOCKING_TIMEOUT: Final = "TRAFFIK_DEFAULT_BLOCKING_TIMEOUT"
"""Environment variable: seconds to wait for a held lock (empty or unset: wait indefinitely)."""
TRAFFIK_SHADOW: Final = "TRAFFIK_SHADOW"
"""Environment variable: every throttle without its own ``shadow`` runs in shadow mode (``true``/``false``/...)."""
TRAFFIK_NEAR_LIMIT_RATIO: Final = "TRAFFIK_NEAR_LIMIT_RATIO"
"""Environment variable: share of the limit (``0 < ratio <= 1``) from which a decision is near the limit."""

DEFAULT_NEAR_LIMIT_RATIO: Final = 0.8
"""Near-limit ratio when nothing sets one (Envoy's default)."""

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


class _Unset:
    """Marks a setting that has been neither read from the environment nor set."""


_UNSET: Final = _Unset()

_lock_ttl: float | _Unset | None = _UNSET
_lock_blocking: bool | _Unset = _UNSET
_lock_blocking_timeout: float | _Unset | None = _UNSET
_shadow: bool | _Unset = _UNSET
_near_limit_ratio: float | _Unset = _UNSET


_OWNER: Final = "traffik.config"
_OPTIONAL_SECONDS: Final = optional(non_negative_number(unit="seconds"))


def _check_seconds(value: object, name: str) -> float | None:
    return _OPTIONAL_SECONDS(_OWNER, name, value)


def _env_seconds(variable: str) -> float | None:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or value < 0:
        raise ConfigurationError(
            f"environment variable {variable} must be a non-negative number of seconds, got {raw!r}"
        )
    return value


def _env_bool(variable: str, default: bool) -> bool:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"environment variable {variable} must be one of true/false/1/0/yes/no, got {raw!r}")


def get_lock_ttl() -> float | None:
    """Seconds a holder may keep a lock before losing it; ``None`` means no limit.

    Defaults to ``TRAFFIK_DEFAULT_LOCK_TTL`` (read on first call), else ``None``.

    Raises:
        ConfigurationError: The environment variable is not a non-negative number.
    """
    global _lock_ttl
    if isinstance(_lock_ttl, _Unset):
        _lock_ttl = _env_seconds(TRAFFIK_DEFAULT_LOCK_TTL)
    return _lock_ttl


def set_lock_ttl(value: float | None) -> None:
    """Set the default lock TTL in seconds (``None``: no limit).

    Raises:
        ConfigurationError: ``value`` is negative, NaN or not a number.
    """
    global _lock_ttl
    _lock_ttl = _check_seconds(value, "lock_ttl")


def get_lock_blocking() -> bool:
    """Whether acquiring a held lock waits (``True``) or fails at once (``False``).

    Defaults to ``TRAFFIK_DEFAULT_BLOCKING`` (read on first call), else ``True``.

    Raises:
        ConfigurationError: The environment variable is not a recognised boolean.
    """
    global _lock_blocking
    if isinstance(_lock_blocking, _Unset):
        _lock_blocking = _env_bool(TRAFFIK_DEFAULT_BLOCKING, True)
    return _lock_blocking


def set_lock_blocking(value: bool) -> None:
    """Set whether acquiring a held lock waits by default.

    Raises:
        ConfigurationError: ``value`` is not a bool.
    """
    global _lock_blocking
    _lock_blocking = boolean(_OWNER, "lock_blocking", value)


def get_lock_blocking_timeout() -> float | None:
    """Seconds to wait for a held lock; ``None`` means wait indefinitely.

    Defaults to ``TRAFFIK_DEFAULT_BLOCKING_TIMEOUT`` (read on first call), else ``None``.

    Raises:
        ConfigurationError: The environment variable is not a non-negative number.
    """
    global _lock_blocking_timeout
    if isinstance(_lock_blocking_timeout, _Unset):
        _lock_blocking_timeout = _env_seconds(TRAFFIK_DEFAULT_BLOCKING_TIMEOUT)
    return _lock_blocking_timeout


def set_lock_blocking_timeout(value: float | None) -> None:
    """Set the default blocking timeout in seconds (``None``: wait indefinitely).

    Raises:
        ConfigurationError: ``value`` is negative, NaN or not a number.
    """
    global _lock_blocking_timeout
    _lock_blocking_timeout = _check_seconds(value, "lock_blocking_timeout")


def check_near_limit_ratio(owner: str, value: object) -> float:
    """``value`` as a ratio ``0 < ratio <= 1``, else :class:`ConfigurationError` naming ``owner``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0 < value <= 1:
        raise ConfigurationError(f"{owner}: near_limit_ratio must be a number > 0 and <= 1, got {value!r}")
    return float(value)


def get_shadow() -> bool:
    """Whether throttles without their own ``shadow`` setting run in shadow mode.

    Defaults to ``TRAFFIK_SHADOW`` (read on first call), else ``False``.

    Raises:
        ConfigurationError: The environment variable is not a recognised boolean.
    """
    global _shadow
    if isinstance(_shadow, _Unset):
        _shadow = _env_bool(TRAFFIK_SHADOW, False)
    return _shadow


def set_shadow(value: bool) -> None:
    """Run every throttle without its own ``shadow`` setting in shadow mode (or not); effective at once.

    In shadow mode a throttle decides and reports as when enforcing, but a
    request over the limit passes (outcome ``"shadow-throttled"``).

    Raises:
        ConfigurationError: ``value`` is not a bool.
    """
    global _shadow
    _shadow = boolean(_OWNER, "shadow", value)


def get_near_limit_ratio() -> float:
    """Share of the limit used from which a decision is reported as near the limit.

    Defaults to ``TRAFFIK_NEAR_LIMIT_RATIO`` (read on first call), else
    :data:`DEFAULT_NEAR_LIMIT_RATIO` (``0.8``).

    Raises:
        ConfigurationError: The environment variable is not a number > 0 and <= 1.
    """
    global _near_limit_ratio
    if isinstance(_near_limit_ratio, _Unset):
        raw = os.environ.get(TRAFFIK_NEAR_LIMIT_RATIO, "").strip()
        if not raw:
            _near_limit_ratio = DEFAULT_NEAR_LIMIT_RATIO
        else:
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if math.isnan(value) or not 0 < value <= 1:
                raise ConfigurationError(
                    f"environment variable {TRAFFIK_NEAR_LIMIT_RATIO} must be a number > 0 and <= 1, got {raw!r}"
                )
            _near_limit_ratio = value
    return _near_limit_ratio


def set_near_limit_ratio(value: float) -> None:
    """Set the near-limit ratio for throttles without their own (``0 < value <= 1``); effective at once.

    Raises:
        ConfigurationError: ``value`` is not a number, is NaN, ``<= 0`` or ``> 1``.
    """
    global _near_limit_ratio
    _near_limit_ratio = check_near_limit_ratio(_OWNER, value)


def reset_config() -> None:
    """Forget every value set in code or read from the environment.

    The next ``get_*`` call reads the environment again. Meant for tests and
    for applications that change the environment at runtime.
    """
    global _lock_ttl, _lock_blocking, _lock_blocking_timeout, _shadow, _near_limit_ratio
    _shadow = _UNSET
    _near_limit_ratio = _UNSET
    _lock_ttl = _UNSET
    _lock_blocking = _UNSET
    _lock_blocking_timeout = _UNSET
