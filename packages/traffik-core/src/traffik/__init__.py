"""Traffik: asynchronous rate limiting for Starlette and FastAPI."""

from pkgutil import extend_path

# Plugin distributions (traffik-redis, traffik-memcached, traffik-fastapi) ship
# sub-packages inside this package; merge their directories into ours.
__path__ = extend_path(__path__, __name__)

from traffik import _missing_plugins  # noqa: E402
from traffik.__about__ import __version__  # noqa: E402
from traffik.rates import Rate  # noqa: E402
from traffik.types import EXEMPTED  # noqa: E402

_missing_plugins.install()

__all__ = ["EXEMPTED", "Rate", "__version__"]
