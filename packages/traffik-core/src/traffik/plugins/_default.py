"""The shared plugin registry and the module-level helpers that use it."""

from __future__ import annotations

import threading
from typing import Any

from traffik.backends.base import ThrottleBackend
from traffik.plugins._registry import PluginRegistry

__all__ = ["backend_from_url", "get_plugin_registry"]

_default_registry: PluginRegistry | None = None
_default_lock = threading.Lock()


def get_plugin_registry() -> PluginRegistry:
    """The process-wide plugin registry, created on first call.

    Creating it discovers nothing yet: plugins are discovered when the
    registry is first asked a question.

    Example:
        >>> get_plugin_registry() is get_plugin_registry()
        True
    """
    global _default_registry
    registry = _default_registry
    if registry is None:
        with _default_lock:
            if _default_registry is None:
                _default_registry = PluginRegistry()
            registry = _default_registry
    return registry


def backend_from_url(url: str, **options: Any) -> ThrottleBackend:
    """Build a backend from a URL, using whichever installed plugin handles its scheme.

    Args:
        url: ``"memory://"``, ``"redis://localhost:6379/0"``, ``"sqlite:///tmp/limits.db"``, ...
        **options: Passed to the backend class's ``from_url`` (``namespace=``, ``persistent=``, ...).

    Returns:
        A new, not yet initialised backend.

    Raises:
        ConfigurationError: ``url`` has no scheme or no installed plugin handles
            it; the message lists the known schemes and, for ``redis://`` and
            ``memcached://``, the install command.

    Example:
        >>> backend = backend_from_url("memory://")
        >>> backend.NAME
        'inmemory'
    """
    return get_plugin_registry().backend_from_url(url, **options)
