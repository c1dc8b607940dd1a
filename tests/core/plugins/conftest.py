"""Fixtures for plugin tests: plugin objects built on the fly, fake installed distributions, fresh interpreters."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from traffik.plugins import PluginRegistry, hookimpl

PluginFactory = Callable[..., types.SimpleNamespace]
DistributionFactory = Callable[..., str]
PythonRunner = Callable[..., "subprocess.CompletedProcess[str]"]

REPO = Path(__file__).resolve().parents[3]
PLUGIN_SOURCES = {
    "redis": REPO / "packages" / "traffik-redis" / "src",
    "memcached": REPO / "packages" / "traffik-memcached" / "src",
    "fastapi": REPO / "packages" / "traffik-fastapi" / "src",
    "prometheus": REPO / "packages" / "traffik-prometheus" / "src",
    "opentelemetry": REPO / "packages" / "traffik-opentelemetry" / "src",
}
"""Source folders the editable installs of the first-party plugins put on ``sys.path``."""

_WITHOUT_PATHS = """
import os, sys
hidden = {os.path.realpath(path) for path in sys.argv[1:]}
sys.path[:] = [path for path in sys.path if os.path.realpath(path or ".") not in hidden]
"""


def _returning(result: object) -> Callable[[], object]:
    def hook() -> object:
        return result

    return hook


@pytest.fixture
def make_plugin() -> PluginFactory:
    """``make_plugin(traffik_register_backends=[...], ...)``: a plugin whose hooks return the given values."""

    def factory(**results: object) -> types.SimpleNamespace:
        plugin = types.SimpleNamespace()
        for hook_name, result in results.items():
            setattr(plugin, hook_name, hookimpl(_returning(result)))
        return plugin

    return factory


@pytest.fixture
def registry() -> PluginRegistry:
    """A registry with the built-ins only (installed entry points are not loaded)."""
    return PluginRegistry(load_entry_points=False)


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DistributionFactory]:
    """``fake_distribution(dist, version, entry_point, module_source)`` installs a distribution for one test.

    It writes a ``.dist-info`` with a ``traffik`` entry point and the entry
    module on a directory prepended to ``sys.path``; returns the module name.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    modules: list[str] = []

    def factory(distribution: str, version: str, entry_point: str, module_source: str) -> str:
        module = f"fake_traffik_plugin_{uuid.uuid4().hex}"
        modules.append(module)
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(module_source))
        dist_info = tmp_path / f"{distribution.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
        (dist_info / "entry_points.txt").write_text(f"[traffik]\n{entry_point} = {module}\n")
        return module

    yield factory
    for module in modules:
        sys.modules.pop(module, None)


@pytest.fixture
def run_python() -> PythonRunner:
    """``run_python(code, hide=("redis",))``: run ``code`` in a fresh interpreter of this environment.

    ``hide`` names first-party plugins whose source folders are taken off
    ``sys.path`` before ``code`` runs, as if the plugin were not installed
    (its distribution metadata, and so its entry point, stays).
    """

    def run(code: str, hide: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        program = _WITHOUT_PATHS + textwrap.dedent(code)
        hidden = [str(PLUGIN_SOURCES[name]) for name in hide]
        return subprocess.run(
            [sys.executable, "-c", program, *hidden], capture_output=True, text=True, timeout=60, check=False
        )

    return run
