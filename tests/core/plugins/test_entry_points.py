"""Plugins found through the ``traffik`` entry-point group of installed distributions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from traffik.exceptions import PluginError
from traffik.plugins import PluginInfo, PluginRegistry

DistributionFactory = Callable[..., str]

GOOD_PLUGIN = """
from traffik.plugins import BackendInfo, StrategyInfo, hookimpl

@hookimpl
def traffik_register_backends():
    return [BackendInfo(name="fake-store", url_schemes=("fakestore",), loader="fake_store:Backend")]

@hookimpl
def traffik_register_strategies():
    return [StrategyInfo(name="fake-window", loader="fake_store:Window")]
"""


def test_installed_distribution_is_discovered_with_its_version(fake_distribution: DistributionFactory) -> None:
    fake_distribution("fake-store-plugin", "1.2.3", "fakestore", GOOD_PLUGIN)
    registry = PluginRegistry()
    assert registry.backends()["fake-store"].url_schemes == ("fakestore",)
    assert registry.backend_schemes()["fakestore"] == "fake-store"
    assert "fake-window" in registry.strategies()
    assert PluginInfo("fakestore", "fake-store-plugin", "1.2.3") in registry.plugins()


def test_entry_points_are_ignored_when_disabled(fake_distribution: DistributionFactory) -> None:
    fake_distribution("fake-store-plugin", "1.2.3", "fakestore", GOOD_PLUGIN)
    registry = PluginRegistry(load_entry_points=False)
    assert "fake-store" not in registry.backends()
    assert [plugin.name for plugin in registry.plugins()] == ["builtin"]


def test_duplicate_from_a_distribution_names_the_distribution(fake_distribution: DistributionFactory) -> None:
    fake_distribution(
        "shadow-memory",
        "0.9.0",
        "shadow",
        """
        from traffik.plugins import BackendInfo, hookimpl

        @hookimpl
        def traffik_register_backends():
            return [BackendInfo(name="shadow", url_schemes=("memory",), loader="shadow:Backend")]
        """,
    )
    with pytest.raises(PluginError) as caught:
        PluginRegistry().discover()
    assert str(caught.value) == (
        "plugin 'shadow' (shadow-memory 0.9.0): backend 'shadow' claims URL scheme 'memory', "
        "already handled by backend 'inmemory' from plugin 'builtin'"
    )


def test_entry_module_that_fails_to_import_names_plugin_and_distribution(
    fake_distribution: DistributionFactory,
) -> None:
    module = fake_distribution("broken-plugin", "0.1.0", "broken", "raise RuntimeError('half installed')\n")
    registry = PluginRegistry()
    with pytest.raises(PluginError) as caught:
        registry.discover()
    assert str(caught.value) == (
        f"plugin 'broken' (broken-plugin 0.1.0) failed to load entry point {module!r}: RuntimeError: half installed"
    )
    assert isinstance(caught.value.__cause__, RuntimeError)
    # A failed discovery leaves nothing half-done: the next use reports the same problem.
    with pytest.raises(PluginError, match=r"^plugin 'broken' "):
        registry.backends()


def test_entry_module_with_invalid_hook_signature_names_the_plugin(fake_distribution: DistributionFactory) -> None:
    fake_distribution(
        "odd-plugin",
        "3.0.0",
        "odd",
        """
        from traffik.plugins import hookimpl

        @hookimpl
        def traffik_register_backends(unexpected_argument):
            return []
        """,
    )
    with pytest.raises(PluginError, match=r"^plugin 'odd' \(odd-plugin 3\.0\.0\) failed to load entry point"):
        PluginRegistry().discover()
