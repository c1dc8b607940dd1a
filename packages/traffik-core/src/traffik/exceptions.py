"""Exceptions raised by Traffik.

Every error Traffik raises on purpose derives from :class:`TraffikError`, so an
application can catch them all at once. Configuration mistakes are also
``ValueError`` so that code written against plain Python conventions still
catches them.
"""

from __future__ import annotations

__all__ = [
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "ConfigurationError",
    "LockTimeoutError",
    "PluginError",
    "StateContentionError",
    "TraffikError",
]


class TraffikError(Exception):
    """Base class of every error Traffik raises on purpose."""


class ConfigurationError(TraffikError, ValueError):
    """Invalid configuration: a bad rate, cost, strategy parameter, plugin or setting.

    Raised at construction time wherever possible, with a message that names the
    parameter and the offending value.
    """


class PluginError(ConfigurationError):
    """A plugin is missing, misbehaves, or registers something twice."""


class BackendError(TraffikError):
    """A backend operation failed. Throttles route it through ``on_error``."""


class BackendConnectionError(BackendError):
    """The backend's server could not be reached."""


class BackendTimeoutError(BackendError):
    """A backend operation did not finish within its timeout."""


class StateContentionError(BackendError):
    """Optimistic concurrency retries were exhausted while updating shared state."""


class LockTimeoutError(BackendError):
    """A lock could not be acquired within its blocking timeout."""
