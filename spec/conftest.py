"""The spec suite of this repository: loads the shipped plugin and builds the example backend.

:mod:`traffik.testing.pytest_plugin` provides the backend parametrization,
the fixtures and the summary; it is registered here (not with a ``pytest11``
entry point) so it only affects runs that collect ``spec/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traffik.clock import Clock
from traffik.testing.spec import BackendBuilder

PLUGIN = "traffik.testing.pytest_plugin"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture
def traffik_backend_builder_sqlite(tmp_path: Path) -> BackendBuilder:
    """SQLite backends on a file, so ``persistent=True`` survives the connection closing at shutdown."""
    from traffik_example_backend import SQLiteBackend

    def build(namespace: str, persistent: bool, clock: Clock) -> SQLiteBackend:
        return SQLiteBackend(str(tmp_path / "limits.db"), namespace=namespace, persistent=persistent, clock=clock)

    return build
