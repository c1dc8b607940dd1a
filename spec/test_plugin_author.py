"""The documented plugin-author command works from a project outside this repository."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

CONFTEST = """
import pytest
from traffik_example_backend import SQLiteBackend


@pytest.fixture
def traffik_backend_builder_sqlite(tmp_path):
    def build(namespace, persistent, clock):
        return SQLiteBackend(str(tmp_path / "limits.db"), namespace=namespace, persistent=persistent, clock=clock)

    return build
"""


def test_example_backend_passes_the_shipped_suite(tmp_path: Path) -> None:
    """spec/README.md: ``pytest --traffik-spec --traffik-backend=sqlite``, no ``-p`` (an entry point loads it)."""
    project = tmp_path / "traffik-example-backend-tests"
    project.mkdir()
    (project / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "--traffik-spec"]
    command += ["--traffik-backend=sqlite", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backend sqlite" in result.stdout
    assert " passed" in result.stdout
    assert "failed" not in result.stdout
