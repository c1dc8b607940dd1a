"""The third-party example distribution (tests/plugins/traffik-example-backend): found and run with no change to core.

The test environment installs it with
``pip install -e tests/plugins/traffik-example-backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import traffik.backends
from traffik.backends.base import ThrottleBackend, strategy_state_key
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError
from traffik.plugins import BackendInfo, PluginInfo, PluginRegistry, backend_from_url
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik_example_backend import SQLiteBackend


def test_example_backend_is_discovered_through_its_entry_point() -> None:
    registry = PluginRegistry()
    assert registry.backends()["sqlite"] == BackendInfo(
        name="sqlite",
        url_schemes=("sqlite",),
        loader="traffik_example_backend:SQLiteBackend",
        description="Example third-party backend over sqlite3 (generic path)",
    )
    assert PluginInfo("sqlite", "traffik-example-backend", "2.0.0") in registry.plugins()
    assert registry.backend_class("sqlite") is SQLiteBackend


def test_example_backend_uses_only_the_generic_path() -> None:
    assert SQLiteBackend.hit is ThrottleBackend.hit
    assert SQLiteBackend.peek is ThrottleBackend.peek
    assert SQLiteBackend.lock is ThrottleBackend.lock


@pytest.mark.parametrize("build", [backend_from_url, traffik.backends.backend_from_url], ids=["plugins", "backends"])
def test_backend_from_url_builds_an_in_memory_sqlite_backend(build: Callable[..., Any]) -> None:
    backend = build("sqlite://:memory:", namespace="api")
    assert isinstance(backend, SQLiteBackend)
    assert (backend.path, backend.namespace) == (":memory:", "api")


def test_backend_from_url_with_an_absolute_file_path(tmp_path: Path) -> None:
    database = tmp_path / "limits.db"
    backend = backend_from_url(f"sqlite://{database}")
    assert isinstance(backend, SQLiteBackend)
    assert backend.path == str(database)


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db?mode=ro", "sqlite://x.db#frag", "postgres://db"])
def test_invalid_sqlite_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="SQLiteBackend: url"):
        SQLiteBackend.from_url(url)


async def test_fixed_window_limit_is_enforced_through_backend_hit() -> None:
    clock = ManualClock(10_000.0)
    backend = backend_from_url("sqlite://:memory:", clock=clock)
    strategy, rate = FixedWindow(), Rate.parse("3/s")
    decisions = [await backend.hit("client", strategy, rate) for _ in range(4)]
    assert [decision.allowed for decision in decisions] == [True, True, True, False]
    assert [decision.hits_remaining for decision in decisions] == [2, 1, 0, 0]
    assert decisions[-1].wait_ms == 1_000.0
    clock.advance(250)
    denied = await backend.hit("client", strategy, rate)
    assert (denied.allowed, denied.wait_ms) == (False, 750.0)
    clock.advance(750)
    assert (await backend.hit("client", strategy, rate)).allowed
    assert (await backend.hit("other-client", strategy, rate)).hits_remaining == 2
    await backend.close()


async def test_peek_consumes_nothing() -> None:
    backend = SQLiteBackend(clock=ManualClock(0.0))
    strategy, rate = FixedWindow(), Rate.parse("1/min")
    assert (await backend.peek("key", strategy, rate)).allowed
    assert (await backend.hit("key", strategy, rate)).allowed
    assert not (await backend.peek("key", strategy, rate)).allowed
    await backend.close()


async def test_state_expires_after_its_ttl() -> None:
    clock = ManualClock(0.0)
    backend = SQLiteBackend(clock=clock)
    await backend.store_state("key", (500.0, 1.0), ttl_ms=500)
    assert await backend.load_state("key") == (500.0, 1.0)
    clock.advance(499)
    assert await backend.load_state("key") == (500.0, 1.0)
    clock.advance(1)
    assert await backend.load_state("key") is None
    await backend.close()


async def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    clock = ManualClock(0.0)
    url = f"sqlite://{tmp_path / 'limits.db'}"
    first = backend_from_url(url, clock=clock, persistent=True)
    async with first:
        await first.store_state("key", (60_000.0, 2.0), ttl_ms=60_000)
    second = backend_from_url(url, clock=clock)
    assert await second.load_state("key") == (60_000.0, 2.0)
    await second.close()


async def test_clear_deletes_only_its_own_namespace(tmp_path: Path) -> None:
    clock = ManualClock(0.0)
    database = str(tmp_path / "shared.db")
    api = SQLiteBackend(database, namespace="api", clock=clock)
    admin = SQLiteBackend(database, namespace="admin", clock=clock)
    await api.store_state("key", (1_000.0, 1.0), ttl_ms=1_000)
    await admin.store_state("key", (1_000.0, 5.0), ttl_ms=1_000)
    await api.clear()
    assert await api.load_state("key") is None
    assert await admin.load_state("key") == (1_000.0, 5.0)
    await api.close()
    await admin.close()


async def test_lifespan_clears_a_non_persistent_namespace(tmp_path: Path) -> None:
    clock = ManualClock(0.0)
    database = str(tmp_path / "limits.db")
    backend = SQLiteBackend(database, clock=clock)
    async with backend.lifespan():
        assert (await backend.hit("client", FixedWindow(), Rate.parse("1/min"))).allowed
        assert await backend.load_state(strategy_state_key("client", FixedWindow())) is not None
    reopened = SQLiteBackend(database, clock=clock)
    assert await reopened.load_state(strategy_state_key("client", FixedWindow())) is None
    await reopened.close()


def test_invalid_path_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SQLiteBackend: path must be a file path or ':memory:', got ''"):
        SQLiteBackend("")
