"""Process-wide lock defaults, from the environment or set in code.

Every lock Traffik takes (TTL, blocking, blocking timeout) falls back to these
values when its owner (a backend or a throttle) leaves the setting at ``None``.

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
    "TRAFFIK_DEFAULT_BLOCKING",
    "TRAFFIK_DEFAULT_BLOCKING_TIMEOUT",
    "TRAFFIK_DEFAULT_LOCK_TTL",
    "get_lock_blocking",
    "get_lock_blocking_timeout",
    "get_lock_ttl",
    "reset_config",
    "set_lock_blocking",
    "set_lock_blocking_timeout",
    "set_lock_ttl",
]

TRAFFIK_DEFAULT_LOCK_TTL: Final = "TRAFFIK_DEFAULT_LOCK_TTL"
"""Environment variable: seconds a lock holder may keep a lock (empty or unset: no limit)."""
TRAFFIK_DEFAULT_BLOCKING: Final = "TRAFFIK_DEFAULT_BLOCKING"
"""Environment variable: wait for a held lock (``true``/``false``/``1``/``0``/``yes``/``no``)."""
TRAFFIK_DEFAULT_BLOCKING_TIMEOUT: Final = "TRAFFIK_DEFAULT_BLOCKING_TIMEOUT"
"""Environment variable: seconds to wait for a held lock (empty or unset: wait indefinitely)."""

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


class _Unset:
    """Marks a setting that has been neither read from the environment nor set."""


_UNSET: Final = _Unset()

_lock_ttl: float | _Unset | None = _UNSET
_lock_blocking: bool | _Unset = _UNSET
_lock_blocking_timeout: float | _Unset | None = _UNSET


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


def reset_config() -> None:
    """Forget every value set in code or read from the environment.

    The next ``get_*`` call reads the environment again. Meant for tests and
    for applications that change the environment at runtime.
    """
    global _lock_ttl, _lock_blocking, _lock_blocking_timeout
    _lock_ttl = _UNSET
    _lock_blocking = _UNSET
    _lock_blocking_timeout = _UNSET
