"""Storage backends. Plugins add ``traffik.backends.<name>`` sub-packages."""

from __future__ import annotations

from pkgutil import extend_path
from typing import TYPE_CHECKING

__path__ = extend_path(__path__, __name__)

from traffik.backends.base import ThrottleBackend, get_active_backend
from traffik.lazy import lazy_attributes

if TYPE_CHECKING:
    from traffik.plugins import backend_from_url

__all__ = ["ThrottleBackend", "backend_from_url", "get_active_backend"]


# The plugin registry is imported on first use only: importing a backend must
# not trigger plugin discovery.
__getattr__ = lazy_attributes(__name__, globals(), {"backend_from_url": "traffik.plugins"})
