"""``SQLiteBackend``: throttle state in an SQLite table, through core's generic path."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, ClassVar

from traffik.backends.base import ThrottleBackend, decode_state, encode_state
from traffik.clock import Clock, wall_ms
from traffik.exceptions import ConfigurationError
from traffik.strategies import State

__all__ = ["SQLiteBackend"]

_MEMORY = ":memory:"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS traffik_state (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
)
"""


class SQLiteBackend(ThrottleBackend):
    """Stores each key's strategy state in one row of an SQLite database.

    It implements only the storage primitives (:meth:`load_state`,
    :meth:`store_state`, :meth:`clear`); Traffik core serialises hits on a key
    with a process-local lock and runs the strategy's pure step in between.
    Hence one process per database file: two processes sharing a file would
    each hold their own locks. Queries are tiny and local, so they run
    synchronously on the event loop.

    Args:
        path: Database file, or ``":memory:"`` for a private in-memory database.
        namespace: Rows of this backend; :meth:`clear` deletes only these.
        clock: Milliseconds clock. Defaults to wall-clock time, which stays
            meaningful in a file that outlives the process.
        **options: The other :class:`~traffik.backends.base.ThrottleBackend` options.

    Example:
        >>> backend = SQLiteBackend.from_url("sqlite://:memory:", namespace="api")
        >>> (backend.path, backend.namespace)
        (':memory:', 'api')
    """

    NAME: ClassVar[str] = "sqlite"
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ("sqlite",)

    def __init__(
        self, path: str = _MEMORY, *, namespace: str = "sqlite", clock: Clock | None = None, **options: Any
    ) -> None:
        if not isinstance(path, str) or not path:
            raise ConfigurationError(f"SQLiteBackend: path must be a file path or ':memory:', got {path!r}")
        super().__init__(namespace, clock=clock if clock is not None else wall_ms, **options)
        self.path = path
        self._connection: sqlite3.Connection | None = None
        # The connection may be used from more than one thread (a test client
        # runs the app's loop in its own thread); sqlite3 objects need a guard.
        self._guard = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteBackend:
        """Build from ``sqlite:///absolute/path.db``, ``sqlite://relative.db`` or ``sqlite://:memory:``.

        Raises:
            ConfigurationError: ``url`` is not an ``sqlite://`` URL, or has a query or fragment.
        """
        prefix = "sqlite://"
        if not isinstance(url, str) or not url.lower().startswith(prefix):
            raise ConfigurationError(f"SQLiteBackend: url must start with 'sqlite://', got {url!r}")
        path = url[len(prefix) :]
        if "?" in path or "#" in path:
            raise ConfigurationError(f"SQLiteBackend: url takes no query or fragment, got {url!r}")
        return cls(path or _MEMORY, **options)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # Autocommit: every statement is its own transaction.
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute(_SCHEMA)
            self._connection = connection
        return self._connection

    async def initialize(self) -> None:
        """Open the database and drop this namespace's expired rows."""
        with self._guard:
            connection = self._connect()
            connection.execute(
                "DELETE FROM traffik_state WHERE namespace = ? AND expires_at <= ?", (self.namespace, self.clock())
            )

    async def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        with self._guard:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    async def load_state(self, key: str) -> State | None:
        """The live state stored under ``key``, or ``None`` if absent or expired."""
        with self._guard:
            row = (
                self._connect()
                .execute(
                    "SELECT state, expires_at FROM traffik_state WHERE namespace = ? AND key = ?", (self.namespace, key)
                )
                .fetchone()
            )
        if row is None or row[1] <= self.clock():
            return None
        return decode_state(row[0])

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        """Store ``state`` under ``key``; it reads as absent after ``ttl_ms`` milliseconds."""
        expires_at = self.clock() + ttl_ms
        with self._guard:
            self._connect().execute(
                "INSERT OR REPLACE INTO traffik_state (namespace, key, state, expires_at) VALUES (?, ?, ?, ?)",
                (self.namespace, key, encode_state(state).decode("ascii"), expires_at),
            )

    async def clear(self) -> None:
        """Delete every row of this backend's namespace, and no other."""
        with self._guard:
            self._connect().execute("DELETE FROM traffik_state WHERE namespace = ?", (self.namespace,))

    def __repr__(self) -> str:
        return f"SQLiteBackend(path={self.path!r}, namespace={self.namespace!r}, persistent={self.persistent!r})"
