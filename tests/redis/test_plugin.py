"""traffik-redis as a plugin: registration, Lua implementations, and a lazy entry module."""

from __future__ import annotations

import subprocess
import sys

import pytest
from traffik.backends.redis import RedisBackend, _plugin
from traffik.backends.redis._scripts import SCRIPTS, LuaScript
from traffik.plugins import PluginRegistry, get_plugin_registry

from tests.redis.strategies import DEFAULTS


def test_backend_is_registered_with_its_schemes() -> None:
    registry = get_plugin_registry()
    info = registry.backends()["redis"]
    assert info.url_schemes == RedisBackend.URL_SCHEMES
    assert info.loader == "traffik.backends.redis:RedisBackend"
    for scheme in RedisBackend.URL_SCHEMES:
        assert registry.backend_for_scheme(scheme) is RedisBackend


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_builtin_strategy_has_a_lua_implementation(name: str) -> None:
    implementation = get_plugin_registry().strategy_implementation("redis", name)
    assert isinstance(implementation, LuaScript)
    assert implementation.strategy == name
    # Every script reads the clock first; FixedWindow's native counter does without the prelude.
    assert implementation.source.startswith("-- Shared by every script, first")
    follows = "-- Shared by every strategy script" if implementation.prelude else "-- traffik.strategies.FixedWindow"
    assert follows in implementation.source
    assert len(implementation.sha) == 40


def test_entry_module_lists_exactly_the_scripts() -> None:
    assert dict(_plugin._LUA_IMPLEMENTATIONS) == SCRIPTS
    assert set(SCRIPTS) == set(PluginRegistry(load_entry_points=False).strategies())


def test_importing_the_package_and_discovering_plugins_does_not_import_redis() -> None:
    code = (
        "import sys, traffik.backends.redis, traffik.backends.redis._plugin\n"
        "from traffik.plugins import get_plugin_registry\n"
        "get_plugin_registry().discover()\n"
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.')))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
