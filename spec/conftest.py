"""The spec suite of this repository: builds the example backend for the shipped plugin.

:mod:`traffik.testing.pytest_plugin` provides the backend parametrization,
the fixtures and the summary. traffik-testing registers it with its ``pytest11``
entry point, so it is not listed here: registering the module a second time
fails with "Plugin already registered".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traffik.clock import Clock
from traffik.testing.spec import BackendBuilder


@pytest.fixture
def traffik_backend_builder_sqlite(tmp_path: Path) -> BackendBuilder:
    """SQLite backends on a file, so ``persistent=True`` survives the connection closing at shutdown."""
    from traffik_example_backend import SQLiteBackend

    def build(namespace: str, persistent: bool, clock: Clock) -> SQLiteBackend:
        return SQLiteBackend(str(tmp_path / "limits.db"), namespace=namespace, persistent=persistent, clock=clock)

    return build
