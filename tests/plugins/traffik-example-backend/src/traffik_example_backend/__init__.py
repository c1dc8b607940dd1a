"""An example third-party Traffik backend over the standard library's ``sqlite3``.

Importing the package is cheap (``sqlite3`` is imported with the backend
class, on first use), which is what plugin discovery needs from an entry
module's package.

Example:
    >>> from traffik.plugins import backend_from_url
    >>> backend_from_url("sqlite://:memory:").NAME
    'sqlite'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traffik_example_backend._backend import SQLiteBackend

__all__ = ["SQLiteBackend"]


def __getattr__(name: str) -> Any:
    if name == "SQLiteBackend":
        from traffik_example_backend._backend import SQLiteBackend

        return SQLiteBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
