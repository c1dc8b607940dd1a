"""``python -m traffik.plugins``: the report of what is installed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from traffik.plugins import PluginRegistry
from traffik.plugins.__main__ import main, render

PythonRunner = Callable[..., "subprocess.CompletedProcess[str]"]


def test_report_lists_plugins_backends_strategies_integrations_and_time() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "traffik.plugins"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Plugins:"
    assert re.fullmatch(r"  builtin +traffik-core \S+", lines[1])
    assert any(re.fullmatch(r"  sqlite +traffik-example-backend 2\.0\.0", line) for line in lines)
    assert any(re.fullmatch(r"  redis +traffik-redis \S+", line) for line in lines)
    assert any(
        re.fullmatch(r"  inmemory +memory://, inmemory:// +traffik\.backends\.inmemory:InMemoryBackend", line)
        for line in lines
    )
    assert any(re.fullmatch(r"  sqlite +sqlite:// +traffik_example_backend:SQLiteBackend", line) for line in lines)
    strategies = lines[lines.index("Strategies:") + 1 : lines.index("Integrations:")]
    assert len(strategies) == 8
    assert re.fullmatch(r"Discovery took \d+\.\d ms", lines[-1])


def test_render_of_builtins_only() -> None:
    report = render(PluginRegistry(load_entry_points=False))
    assert "Plugins:\n  builtin " in report
    assert "Integrations:\n  (none)\n" in report
    assert "  gcra                     traffik.strategies:GCRA\n" in report


def test_broken_plugin_exits_1_with_the_error(run_python: PythonRunner) -> None:
    result = run_python(
        """
        import sys
        from traffik.plugins.__main__ import main
        sys.exit(main([]))
        """,
        hide=("memcached",),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: plugin 'memcached' (traffik-memcached ")


def test_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--verbose"]) == 2
    assert capsys.readouterr().err == "usage: python -m traffik.plugins\n"
