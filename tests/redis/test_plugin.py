"""traffik-redis as a plugin: registration, Lua implementations, and a lazy entry module."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from traffik import plugins
from traffik.backends.base import runs_natively
from traffik.backends.redis import RedisBackend, _plugin
from traffik.backends.redis._fixed_window import FIXED_WINDOW_COUNTER
from traffik.backends.redis._scripts import GCRA, SCRIPTS, LuaScript
from traffik.plugins import PluginRegistry, get_plugin_registry
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer

from tests.redis.conftest import unique_namespace
from tests.redis.strategies import DEFAULTS
from tests.wire import recorded_writes, redis_commands


def test_backend_is_registered_with_its_schemes() -> None:
    registry = get_plugin_registry()
    info = registry.backends()["redis"]
    assert info.url_schemes == RedisBackend.URL_SCHEMES
    assert info.loader == "traffik.backends.redis:RedisBackend"
    for scheme in RedisBackend.URL_SCHEMES:
        assert registry.backend_for_scheme(scheme) is RedisBackend


@pytest.mark.parametrize("name", sorted(set(DEFAULTS) - {FixedWindow.NAME}))
def test_every_builtin_strategy_but_fixed_window_has_a_lua_implementation(name: str) -> None:
    implementation = get_plugin_registry().strategy_implementation("redis", name)
    assert isinstance(implementation, LuaScript)
    assert implementation.strategy == name
    # Every script reads the clock first, then the prelude.
    assert implementation.source.startswith("-- Shared by every script, first")
    assert "-- Shared by every strategy script" in implementation.source
    assert len(implementation.sha) == 40


def test_fixed_window_is_registered_as_a_counter_without_a_script() -> None:
    implementation = get_plugin_registry().strategy_implementation("redis", FixedWindow.NAME)
    assert implementation is FIXED_WINDOW_COUNTER
    assert runs_natively(implementation, FixedWindow())
    assert FixedWindow.NAME not in SCRIPTS


def test_entry_module_lists_exactly_the_scripts_and_the_counter() -> None:
    assert dict(_plugin._LUA_IMPLEMENTATIONS) == SCRIPTS
    builtin = set(PluginRegistry(load_entry_points=False).strategies())
    assert set(SCRIPTS) == builtin - {FixedWindow.NAME}
    registered = {info.strategy: info.loader for info in _plugin.traffik_register_strategy_implementations()}
    assert set(registered) == builtin
    assert registered[FixedWindow.NAME] == "traffik.backends.redis._fixed_window:FIXED_WINDOW_COUNTER"


def test_importing_the_package_and_discovering_plugins_does_not_import_redis() -> None:
    code = (
        "import sys, traffik.backends.redis, traffik.backends.redis._plugin\n"
        "from traffik.plugins import get_plugin_registry\n"
        "get_plugin_registry().discover()\n"
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.')))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


class _OnlyTheirs:
    """A plugin registry where a third party, not traffik-redis, registered FixedWindow for redis."""

    def __init__(self, theirs: object) -> None:
        self.theirs = theirs

    def strategy_implementation(self, backend: str, strategy: str) -> object | None:
        return self.theirs if (backend, strategy) == ("redis", FixedWindow.NAME) else None


@pytest.mark.redis
async def test_a_registered_script_for_fixed_window_runs_instead_of_the_counter(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    # The counter is a registration like any other, not built into the backend: what the
    # registry hands out for fixed-window (here a script of a third party's) is what runs.
    theirs = dataclasses.replace(GCRA, strategy=FixedWindow.NAME, strategy_class=FixedWindow)
    monkeypatch.setattr(plugins, "get_plugin_registry", lambda: _OnlyTheirs(theirs))
    backend = RedisBackend(redis_server.url, namespace=unique_namespace("theirs"))
    try:
        assert backend._script_for(FixedWindow()) is theirs
        with recorded_writes() as writes:
            assert (await backend.hit("k", FixedWindow(), Rate.parse("3/min"))).allowed
        assert [command[0] for data in writes for command in redis_commands(data)][-1:] in ([b"EVALSHA"], [b"EVAL"])
    finally:
        await backend.clear()
        await backend.close()
