"""Discovery is lazy and cheap, and a missing plugin says how to install it (each check in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

PythonRunner = Callable[..., "subprocess.CompletedProcess[str]"]


def _stdout(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_traffik_discovers_no_plugin(run_python: PythonRunner) -> None:
    out = _stdout(
        run_python(
            """
            import json, sys
            import traffik, traffik.backends, traffik.backends.base
            entry_modules = sorted(name for name in sys.modules if name.endswith("._plugin"))
            from traffik.plugins import get_plugin_registry
            print(json.dumps({"entry_modules": entry_modules, "discovery_ms": get_plugin_registry().discovery_ms}))
            """
        )
    )
    assert json.loads(out) == {"entry_modules": [], "discovery_ms": None}


def test_discovery_imports_no_client_library(run_python: PythonRunner) -> None:
    out = _stdout(
        run_python(
            """
            import json, sys
            from traffik.plugins import get_plugin_registry
            registry = get_plugin_registry()
            registry.discover()
            import traffik.backends.redis, traffik.backends.memcached, traffik.decorators
            import traffik.prometheus, traffik.opentelemetry
            clients = ("redis", "aiomcache", "fastapi", "sqlite3", "prometheus_client", "opentelemetry")
            heavy = sorted(name for name in clients if name in sys.modules)
            print(json.dumps({"heavy": heavy, "plugins": sorted(plugin.name for plugin in registry.plugins())}))
            """
        )
    )
    report = json.loads(out)
    # The entry modules were imported (the plugins are registered) without their client libraries.
    assert {"redis", "memcached", "fastapi", "sqlite"} <= set(report["plugins"])
    assert report["heavy"] == []


def test_discovery_imports_nothing_but_the_plugins_entry_modules(run_python: PythonRunner) -> None:
    # What keeps discovery cheap (a few ms; ``python -m benchmarks --scenario discovery``
    # measures it): it imports each plugin's small entry module and nothing else, so no
    # client library, web framework or other third-party module. Counted, not timed, so a
    # busy machine cannot fail it. importlib.metadata is imported first, as any app has.
    out = _stdout(
        run_python(
            """
            import importlib.metadata, json, sys
            from traffik.plugins import get_plugin_registry
            before = set(sys.modules)
            registry = get_plugin_registry()
            registry.discover()
            print(json.dumps(sorted(set(sys.modules) - before)))
            """
        )
    )
    imported = json.loads(out)
    assert "traffik.backends.redis._plugin" in imported  # discovery did run
    assert [name for name in imported if not name.startswith(("traffik.", "traffik_"))] == []


@pytest.mark.parametrize(
    ("plugin", "module", "message"),
    [
        (
            "redis",
            "traffik.backends.redis",
            "traffik.backends.redis is provided by traffik-redis: pip install 'traffik[redis]'",
        ),
        (
            "memcached",
            "traffik.backends.memcached",
            "traffik.backends.memcached is provided by traffik-memcached: pip install 'traffik[memcached]'",
        ),
        (
            "fastapi",
            "traffik.decorators",
            "traffik.decorators is provided by traffik-fastapi: pip install 'traffik[fastapi]'",
        ),
        (
            "prometheus",
            "traffik.prometheus",
            "traffik.prometheus is provided by traffik-prometheus: pip install 'traffik[prometheus]'",
        ),
        (
            "opentelemetry",
            "traffik.opentelemetry",
            "traffik.opentelemetry is provided by traffik-opentelemetry: pip install 'traffik[opentelemetry]'",
        ),
    ],
)
def test_missing_plugin_import_names_the_install_command(
    run_python: PythonRunner, plugin: str, module: str, message: str
) -> None:
    out = _stdout(
        run_python(
            f"""
            import traffik
            try:
                import {module}
            except ModuleNotFoundError as exc:
                print(type(exc).__name__, exc.name, "|", exc)
            else:
                print("imported")
            """,
            hide=(plugin,),
        )
    )
    assert out == f"ModuleNotFoundError {module} | {message}"


def test_half_installed_plugin_fails_discovery_naming_it(run_python: PythonRunner) -> None:
    # The distribution's metadata (and entry point) is there, its code is not.
    out = _stdout(
        run_python(
            """
            from traffik.exceptions import PluginError
            from traffik.plugins import get_plugin_registry
            try:
                get_plugin_registry().discover()
            except PluginError as exc:
                print(exc)
            """,
            hide=("redis",),
        )
    )
    assert out.startswith("plugin 'redis' (traffik-redis ")
    assert out.endswith(
        "failed to load entry point 'traffik.backends.redis._plugin': "
        "ModuleNotFoundError: traffik.backends.redis is provided by traffik-redis: pip install 'traffik[redis]'"
    )
