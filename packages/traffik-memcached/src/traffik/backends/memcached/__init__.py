"""The Memcached backend for Traffik (distribution ``traffik-memcached``).

``from traffik.backends.memcached import MemcachedBackend``. Importing this
package is cheap: it does not import aiomcache. The backend class is imported
the first time it is used.

Example:
    >>> import traffik.backends.memcached
    >>> int(traffik.backends.memcached.__version__.split(".")[0]) >= 2
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from traffik.backends.memcached.__about__ import __version__
from traffik.lazy import lazy_attributes

if TYPE_CHECKING:
    from traffik.backends.memcached._backend import MemcachedBackend

__all__ = ["MemcachedBackend", "__version__"]

_LAZY_ATTRIBUTES: Final[dict[str, str]] = {
    "MemcachedBackend": "traffik.backends.memcached._backend",
}
"""Public name -> module that defines it, imported on first access (keeps aiomcache unimported)."""


__getattr__ = lazy_attributes(__name__, globals(), _LAZY_ATTRIBUTES)
