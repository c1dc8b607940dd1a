"""Entry module (``[project.entry-points.traffik] sqlite``): registers the SQLite backend by name."""

from __future__ import annotations

from traffik.plugins import BackendInfo, hookimpl

__all__ = ["traffik_register_backends"]


@hookimpl
def traffik_register_backends() -> list[BackendInfo]:
    """The ``sqlite`` backend, built from ``sqlite:///path/to/file.db`` or ``sqlite://:memory:``."""
    return [
        BackendInfo(
            name="sqlite",
            url_schemes=("sqlite",),
            loader="traffik_example_backend:SQLiteBackend",
            description="Example third-party backend over sqlite3 (generic path)",
        )
    ]
