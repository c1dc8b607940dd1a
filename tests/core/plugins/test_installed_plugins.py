"""Everything the installed plugins register can be delivered, and the first-party skeletons stay lazy."""

from __future__ import annotations

import importlib

import pytest
from traffik.backends.base import ThrottleBackend
from traffik.plugins import PluginRegistry, backend_from_url
from traffik.strategies import ThrottleStrategy

# Collected once, so each registration becomes its own test id ("backend:inmemory", ...).
_INSTALLED = PluginRegistry()
_REGISTRATIONS = [
    *(pytest.param("backend", name, id=f"backend:{name}") for name in sorted(_INSTALLED.backends())),
    *(pytest.param("strategy", name, id=f"strategy:{name}") for name in sorted(_INSTALLED.strategies())),
    *(pytest.param("integration", name, id=f"integration:{name}") for name in sorted(_INSTALLED.integrations())),
    *(
        pytest.param(
            "implementation", f"{info.backend}/{info.strategy}", id=f"implementation:{info.backend}/{info.strategy}"
        )
        for infos in _INSTALLED.plugin_manager.hook.traffik_register_strategy_implementations()
        for info in infos
    ),
]


@pytest.mark.parametrize(("kind", "name"), _REGISTRATIONS)
def test_every_registration_of_the_installed_plugins_can_be_delivered(kind: str, name: str) -> None:
    registry = PluginRegistry()
    if kind == "backend":
        backend_class = registry.backend_class(name)
        assert issubclass(backend_class, ThrottleBackend)
        assert name == backend_class.NAME
    elif kind == "strategy":
        strategy = registry.create_strategy(name)
        assert isinstance(strategy, ThrottleStrategy)
        assert name == strategy.NAME
    elif kind == "integration":
        assert registry.integration(name) is not None
    else:
        backend_name, _, strategy_name = name.partition("/")
        assert registry.strategy_implementation(backend_name, strategy_name) is not None


@pytest.mark.parametrize("scheme", ["memory", "inmemory", "MEMORY"])
def test_memory_urls_build_the_builtin_backend(scheme: str) -> None:
    backend = backend_from_url(f"{scheme}://")
    assert type(backend).__name__ == "InMemoryBackend"
    assert backend.NAME == "inmemory"


@pytest.mark.parametrize("package", ["traffik.backends.redis", "traffik.backends.memcached", "traffik.decorators"])
def test_first_party_package_getattr_rejects_unknown_names(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nothing_here'"):
        module.nothing_here  # noqa: B018  # the attribute access is the test
