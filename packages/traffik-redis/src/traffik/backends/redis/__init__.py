"""The Redis backend for Traffik (distribution ``traffik-redis``).

Importing this package is cheap: it does not import redis-py. The backend
class is imported the first time it is used.

Example:
    >>> import traffik.backends.redis
    >>> int(traffik.backends.redis.__version__.split(".")[0]) >= 2
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from traffik.backends.redis.__about__ import __version__
from traffik.lazy import lazy_attributes

if TYPE_CHECKING:
    from traffik.backends.redis._backend import RedisBackend

__all__ = ["RedisBackend", "__version__"]

_LAZY_ATTRIBUTES: Final[dict[str, str]] = {
    "RedisBackend": "traffik.backends.redis._backend",
}
"""Public name -> module that defines it, imported on first access (keeps redis-py unimported)."""


__getattr__ = lazy_attributes(__name__, globals(), _LAZY_ATTRIBUTES)
