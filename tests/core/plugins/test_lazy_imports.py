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
            heavy = sorted(name for name in ("redis", "aiomcache", "fastapi", "sqlite3") if name in sys.modules)
            print(json.dumps({"heavy": heavy, "plugins": sorted(plugin.name for plugin in registry.plugins())}))
            """
        )
    )
    report = json.loads(out)
    # The entry modules were imported (the plugins are registered) without their client libraries.
    assert {"redis", "memcached", "fastapi", "sqlite"} <= set(report["plugins"])
    assert report["heavy"] == []


def test_discovery_stays_well_under_budget(run_python: PythonRunner) -> None:
    # The budget is 10 ms on an idle machine; the bound here leaves room for a
    # busy CI core but still catches an entry module importing FastAPI (~200 ms).
    # importlib.metadata is imported first, as any FastAPI app has done already.
    program = """
        import importlib.metadata
        from traffik.plugins import get_plugin_registry
        registry = get_plugin_registry()
        registry.discover()
        print(registry.discovery_ms)
        """
    fastest = min(float(_stdout(run_python(program))) for _ in range(3))
    assert fastest < 50.0


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
