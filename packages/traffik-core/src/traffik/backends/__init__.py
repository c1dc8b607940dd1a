"""Storage backends. Plugins add ``traffik.backends.<name>`` sub-packages."""

from __future__ import annotations

from pkgutil import extend_path
from typing import TYPE_CHECKING, Any

__path__ = extend_path(__path__, __name__)

from traffik.backends.base import ThrottleBackend, get_active_backend

if TYPE_CHECKING:
    from traffik.plugins import backend_from_url

__all__ = ["ThrottleBackend", "backend_from_url", "get_active_backend"]


def __getattr__(name: str) -> Any:
    # The plugin registry is imported on first use only: importing a backend
    # must not trigger plugin discovery.
    if name == "backend_from_url":
        from traffik.plugins import backend_from_url

        return backend_from_url
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
