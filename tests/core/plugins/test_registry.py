"""PluginRegistry: lazy discovery, validation of hook results, typed lookups, caching."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import traffik
import traffik._builtin_plugin
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConfigurationError, PluginError
from traffik.plugins import (
    BUILTIN_PLUGIN_NAME,
    BackendInfo,
    IntegrationInfo,
    PluginInfo,
    PluginRegistry,
    StrategyImplementationInfo,
    StrategyInfo,
    get_plugin_registry,
    hookimpl,
)
from traffik.rates import Rate
from traffik.strategies._base import Decision, State, ThrottleStrategy

PluginFactory = Callable[..., types.SimpleNamespace]

BUILTIN_STRATEGIES = {
    "fixed-window": "FixedWindow",
    "sliding-window-counter": "SlidingWindowCounter",
    "sliding-window-log": "SlidingWindowLog",
    "token-bucket": "TokenBucket",
    "token-bucket-with-debt": "TokenBucketWithDebt",
    "leaky-bucket": "LeakyBucket",
    "leaky-bucket-with-queue": "LeakyBucketWithQueue",
    "gcra": "GCRA",
}

HERE = __name__


class FakeBackend(ThrottleBackend):
    NAME: ClassVar[str] = "fake"
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ("fake",)

    def __init__(self, url: str = "fake://", *, namespace: str = "fake", **options: Any) -> None:
        super().__init__(namespace, **options)
        self.url = url

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FakeBackend:
        return cls(url, **options)

    async def clear(self) -> None:
        pass


class MisnamedBackend(FakeBackend):
    NAME: ClassVar[str] = "something-else"


class FakeStrategy(ThrottleStrategy):
    NAME: ClassVar[str] = "fake-strategy"

    def __init__(self, *, burst: int = 1) -> None:
        if burst < 1:
            raise ConfigurationError(f"FakeStrategy: burst must be >= 1, got {burst!r}")
        self.burst = burst

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        return state, Decision(True, 0.0, float(self.burst))

    def params(self) -> dict[str, Any]:
        return {"burst": self.burst}


NATIVE_IMPLEMENTATION = "return redis.call('INCR', KEYS[1])"
INTEGRATION_ENTRY = object()


def fake_backend_info(name: str = "fake", schemes: tuple[str, ...] = ("fake",), loader: str = "") -> BackendInfo:
    return BackendInfo(name=name, url_schemes=schemes, loader=loader or f"{HERE}:FakeBackend")


# -- discovery --------------------------------------------------------------


def test_construction_discovers_nothing_and_first_use_discovers() -> None:
    registry = PluginRegistry(load_entry_points=False)
    before = registry.discovery_ms
    registry.backends()
    after = registry.discovery_ms
    assert before is None
    assert after is not None
    assert after > 0


def test_shared_registry_is_created_once() -> None:
    assert get_plugin_registry() is get_plugin_registry()


def test_builtin_plugin_registers_through_the_hooks(registry: PluginRegistry) -> None:
    manager = registry.plugin_manager
    assert manager.get_plugin(BUILTIN_PLUGIN_NAME) is traffik._builtin_plugin
    hooks = manager.hook
    assert [impl.plugin_name for impl in hooks.traffik_register_backends.get_hookimpls()] == [BUILTIN_PLUGIN_NAME]
    assert [impl.plugin_name for impl in hooks.traffik_register_strategies.get_hookimpls()] == [BUILTIN_PLUGIN_NAME]


def test_builtin_backend_is_inmemory_with_two_schemes(registry: PluginRegistry) -> None:
    backend = registry.backends()["inmemory"]
    assert (backend.name, backend.url_schemes, backend.loader) == (
        "inmemory",
        ("memory", "inmemory"),
        "traffik.backends.inmemory:InMemoryBackend",
    )
    assert registry.backend_schemes() == {"memory": "inmemory", "inmemory": "inmemory"}


def test_builtin_strategies_are_the_eight_with_lazy_loaders(registry: PluginRegistry) -> None:
    strategies = registry.strategies()
    assert {name: info.loader for name, info in strategies.items()} == {
        name: f"traffik.strategies:{class_name}" for name, class_name in BUILTIN_STRATEGIES.items()
    }


@pytest.mark.parametrize("name", sorted(BUILTIN_STRATEGIES))
def test_builtin_strategy_class_loads_with_matching_name(registry: PluginRegistry, name: str) -> None:
    strategy_class = registry.strategy_class(name)
    assert issubclass(strategy_class, ThrottleStrategy)
    assert name == strategy_class.NAME
    assert strategy_class.__name__ == BUILTIN_STRATEGIES[name]


def test_builtin_inmemory_backend_class_loads(registry: PluginRegistry) -> None:
    backend_class = registry.backend_class("inmemory")
    assert backend_class.__name__ == "InMemoryBackend"
    assert backend_class.NAME == "inmemory"


def test_builtin_plugin_is_listed_first_with_core_version(registry: PluginRegistry) -> None:
    assert registry.plugins()[0] == PluginInfo(BUILTIN_PLUGIN_NAME, "traffik-core", traffik.__version__)


def test_plugin_registered_in_code_has_no_distribution(registry: PluginRegistry, make_plugin: PluginFactory) -> None:
    registry.register(make_plugin(traffik_register_backends=[fake_backend_info()]), name="mine")
    assert PluginInfo("mine", None, None) in registry.plugins()


def test_hook_returning_none_registers_nothing(registry: PluginRegistry, make_plugin: PluginFactory) -> None:
    before = registry.backends()
    registry.register(make_plugin(traffik_register_backends=None), name="quiet")
    assert registry.backends() == before


# -- validation of what hooks return ------------------------------------------

INVALID_RESULTS = [
    pytest.param("traffik_register_backends", {"fake": 1}, "dict", id="backends-not-a-list"),
    pytest.param("traffik_register_backends", [StrategyInfo("x", "m:C")], "StrategyInfo(", id="backends-wrong-item"),
    pytest.param("traffik_register_backends", [fake_backend_info(name="Bad Name")], "'Bad Name'", id="backend-name"),
    pytest.param("traffik_register_backends", [fake_backend_info(schemes=("Fake",))], "'Fake'", id="scheme-case"),
    pytest.param("traffik_register_backends", [fake_backend_info(schemes=("1x",))], "'1x'", id="scheme-digit"),
    pytest.param("traffik_register_backends", [fake_backend_info(schemes=("a", "a"))], "twice", id="scheme-twice"),
    pytest.param(
        "traffik_register_backends",
        [BackendInfo("fake", "fake", f"{HERE}:FakeBackend")],  # type: ignore[arg-type]  # the error under test
        "'fake'",
        id="schemes-a-string",
    ),
    pytest.param("traffik_register_backends", [fake_backend_info(loader="no_colon")], "'no_colon'", id="loader-colon"),
    pytest.param("traffik_register_backends", [fake_backend_info(loader="a:b-c")], "'a:b-c'", id="loader-attr"),
    pytest.param("traffik_register_backends", [fake_backend_info(loader=":X")], "':X'", id="loader-no-module"),
    pytest.param(
        "traffik_register_backends",
        [BackendInfo("fake", ("fake",), f"{HERE}:FakeBackend", description=None)],  # type: ignore[arg-type]
        "description",
        id="backend-description",
    ),
    pytest.param("traffik_register_strategies", [StrategyInfo("Fixed Window", "m:C")], "'Fixed Window'", id="strategy"),
    pytest.param("traffik_register_strategies", [StrategyInfo("x", "m.C")], "'m.C'", id="strategy-loader"),
    pytest.param(
        "traffik_register_strategy_implementations",
        [StrategyImplementationInfo("redis!", "gcra", "m:C")],
        "'redis!'",
        id="implementation-backend",
    ),
    pytest.param(
        "traffik_register_strategy_implementations",
        [StrategyImplementationInfo("redis", "", "m:C")],
        "strategy implementation strategy",
        id="implementation-strategy",
    ),
    pytest.param(
        "traffik_register_integrations", [IntegrationInfo("web", "Fast API", "m:f")], "'Fast API'", id="framework"
    ),
    pytest.param("traffik_register_integrations", [IntegrationInfo("web", "x", "m")], "'m'", id="integration-loader"),
]


@pytest.mark.parametrize(("hook_name", "result", "quoted"), INVALID_RESULTS)
def test_invalid_hook_result_raises_plugin_error_naming_the_plugin(
    registry: PluginRegistry, make_plugin: PluginFactory, hook_name: str, result: object, quoted: str
) -> None:
    with pytest.raises(PluginError) as caught:
        registry.register(make_plugin(**{hook_name: result}), name="bad")
    message = str(caught.value)
    assert message.startswith("plugin 'bad': ")
    assert quoted in message


DUPLICATES = [
    pytest.param(
        "traffik_register_backends",
        [BackendInfo("inmemory", (), f"{HERE}:FakeBackend")],
        "backend 'inmemory' is already registered by plugin 'builtin'",
        id="backend-name",
    ),
    pytest.param(
        "traffik_register_backends",
        [fake_backend_info(schemes=("fake", "memory"))],
        "claims URL scheme 'memory', already handled by backend 'inmemory' from plugin 'builtin'",
        id="url-scheme",
    ),
    pytest.param(
        "traffik_register_strategies",
        [StrategyInfo("gcra", f"{HERE}:FakeStrategy")],
        "strategy 'gcra' is already registered by plugin 'builtin'",
        id="strategy-name",
    ),
]


@pytest.mark.parametrize(("hook_name", "result", "expected"), DUPLICATES)
def test_duplicate_with_builtin_names_both_plugins(
    registry: PluginRegistry, make_plugin: PluginFactory, hook_name: str, result: object, expected: str
) -> None:
    with pytest.raises(PluginError, match=r"^plugin 'dup': ") as caught:
        registry.register(make_plugin(**{hook_name: result}), name="dup")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("hook_name", "result", "expected"),
    [
        pytest.param(
            "traffik_register_strategy_implementations",
            [StrategyImplementationInfo("redis", "gcra", f"{HERE}:NATIVE_IMPLEMENTATION")],
            "implementation of strategy 'gcra' for backend 'redis' is already registered by plugin 'first'",
            id="implementation",
        ),
        pytest.param(
            "traffik_register_integrations",
            [IntegrationInfo("web", "starlette", f"{HERE}:INTEGRATION_ENTRY")],
            "integration 'web' is already registered by plugin 'first'",
            id="integration",
        ),
    ],
)
def test_duplicate_between_two_plugins_names_both(
    registry: PluginRegistry, make_plugin: PluginFactory, hook_name: str, result: object, expected: str
) -> None:
    registry.register(make_plugin(**{hook_name: result}), name="first")
    with pytest.raises(PluginError, match=r"^plugin 'second': ") as caught:
        registry.register(make_plugin(**{hook_name: result}), name="second")
    assert expected in str(caught.value)


def test_rejected_plugin_is_unregistered_and_leaves_the_registry_as_it_was(
    registry: PluginRegistry, make_plugin: PluginFactory
) -> None:
    before = (registry.backends(), registry.strategies(), registry.plugins())
    bad = make_plugin(
        traffik_register_backends=[fake_backend_info()],
        traffik_register_strategies=[StrategyInfo("gcra", f"{HERE}:FakeStrategy")],
    )
    with pytest.raises(PluginError):
        registry.register(bad, name="bad")
    assert (registry.backends(), registry.strategies(), registry.plugins()) == before
    assert not registry.plugin_manager.is_registered(bad)
    registry.register(make_plugin(traffik_register_backends=[fake_backend_info()]), name="good")
    assert "fake" in registry.backends()


def test_registering_the_same_name_twice_raises(registry: PluginRegistry, make_plugin: PluginFactory) -> None:
    registry.register(make_plugin(), name="twin")
    with pytest.raises(PluginError, match="twin"):
        registry.register(make_plugin(), name="twin")


def test_hook_that_raises_becomes_plugin_error_with_cause(registry: PluginRegistry) -> None:
    class Exploding:
        @hookimpl
        def traffik_register_strategies(self) -> list[StrategyInfo]:
            raise RuntimeError("boom")

    with pytest.raises(PluginError, match=r"^plugin 'exploding': traffik_register_strategies\(\) raised") as caught:
        registry.register(Exploding(), name="exploding")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_wrapper_on_a_registration_hook_is_rejected(registry: PluginRegistry) -> None:
    class Wrapping:
        @hookimpl(wrapper=True)
        def traffik_register_backends(self) -> Any:
            return (yield)

    with pytest.raises(PluginError, match="cannot be a wrapper"):
        registry.register(Wrapping(), name="wrapping")


# -- lookups ------------------------------------------------------------------


@pytest.fixture
def fake_registry(registry: PluginRegistry, make_plugin: PluginFactory) -> PluginRegistry:
    registry.register(
        make_plugin(
            traffik_register_backends=[
                fake_backend_info(schemes=("fake", "fake+tls")),
                BackendInfo("misnamed", ("misnamed",), f"{HERE}:MisnamedBackend"),
                BackendInfo("not-a-class", (), f"{HERE}:NATIVE_IMPLEMENTATION"),
                BackendInfo("missing-module", (), "traffik_no_such_module_xyz:Backend"),
                BackendInfo("missing-attribute", (), f"{HERE}:NoSuchBackend"),
            ],
            traffik_register_strategies=[
                StrategyInfo("fake-strategy", f"{HERE}:FakeStrategy"),
                StrategyInfo("strategy-not-a-strategy", f"{HERE}:FakeBackend"),
            ],
            traffik_register_strategy_implementations=[
                StrategyImplementationInfo("fake", "fake-strategy", f"{HERE}:NATIVE_IMPLEMENTATION"),
            ],
            traffik_register_integrations=[IntegrationInfo("web", "starlette", f"{HERE}:INTEGRATION_ENTRY")],
        ),
        name="fakes",
    )
    return registry


def test_backend_class_loads_the_registered_class(fake_registry: PluginRegistry) -> None:
    assert fake_registry.backend_class("fake") is FakeBackend


def test_unknown_backend_lists_registered_ones(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match=r"unknown backend 'nope'; registered backends: fake, inmemory"):
        fake_registry.backend_class("nope")


def test_backend_whose_name_differs_from_its_class_name_is_rejected(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match=r"registered as 'misnamed' but MisnamedBackend\.NAME is 'something-else'"):
        fake_registry.backend_class("misnamed")


def test_backend_loader_that_is_not_a_backend_class_is_rejected(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match=r"^plugin 'fakes': .*not a ThrottleBackend subclass"):
        fake_registry.backend_class("not-a-class")


def test_backend_whose_module_is_missing_names_plugin_and_loader(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match=r"^plugin 'fakes': cannot load backend 'missing-module'") as caught:
        fake_registry.backend_class("missing-module")
    assert "'traffik_no_such_module_xyz:Backend'" in str(caught.value)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_backend_whose_attribute_is_missing_names_plugin(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match=r"^plugin 'fakes': cannot load backend 'missing-attribute'.*NoSuchBackend"):
        fake_registry.backend_class("missing-attribute")


def test_scheme_lookup_is_case_insensitive(fake_registry: PluginRegistry) -> None:
    assert fake_registry.backend_for_scheme("FAKE+TLS") is FakeBackend


def test_unknown_scheme_lists_known_schemes(fake_registry: PluginRegistry) -> None:
    with pytest.raises(ConfigurationError) as caught:
        fake_registry.backend_for_scheme("ftp")
    assert str(caught.value) == (
        "no backend handles URL scheme 'ftp'; known schemes: fake, fake+tls, inmemory, memory, misnamed"
    )


@pytest.mark.parametrize(
    ("scheme", "command"),
    [
        ("redis", "traffik-redis: pip install 'traffik[redis]'"),
        ("rediss", "traffik-redis: pip install 'traffik[redis]'"),
        ("memcached", "traffik-memcached: pip install 'traffik[memcached]'"),
    ],
)
def test_unknown_first_party_scheme_says_what_to_install(registry: PluginRegistry, scheme: str, command: str) -> None:
    with pytest.raises(ConfigurationError, match="known schemes: inmemory, memory") as caught:
        registry.backend_for_scheme(scheme)
    assert str(caught.value).endswith(f"The {scheme!r} scheme is provided by {command}")


def test_backend_from_url_passes_url_and_options_to_from_url(fake_registry: PluginRegistry) -> None:
    backend = fake_registry.backend_from_url("fake://host:1/2", namespace="ns", persistent=True)
    assert isinstance(backend, FakeBackend)
    assert (backend.url, backend.namespace, backend.persistent) == ("fake://host:1/2", "ns", True)


@pytest.mark.parametrize("url", ["", "no-scheme", "://host", 42])
def test_backend_from_url_without_scheme_is_a_configuration_error(registry: PluginRegistry, url: Any) -> None:
    with pytest.raises(ConfigurationError, match="url must"):
        registry.backend_from_url(url)


def test_strategy_class_and_create_strategy(fake_registry: PluginRegistry) -> None:
    assert fake_registry.strategy_class("fake-strategy") is FakeStrategy
    strategy = fake_registry.create_strategy("fake-strategy", burst=3)
    assert isinstance(strategy, FakeStrategy)
    assert strategy.burst == 3


def test_create_strategy_with_unknown_parameter_is_a_configuration_error(fake_registry: PluginRegistry) -> None:
    with pytest.raises(ConfigurationError, match=r"strategy 'fake-strategy': invalid parameters \{'size': 3\}"):
        fake_registry.create_strategy("fake-strategy", size=3)


def test_create_strategy_passes_on_the_strategys_own_validation(fake_registry: PluginRegistry) -> None:
    with pytest.raises(ConfigurationError, match="burst must be >= 1, got 0"):
        fake_registry.create_strategy("fake-strategy", burst=0)


def test_unknown_strategy_lists_registered_ones(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match="unknown strategy 'nope'; registered strategies: fake-strategy, fixed-"):
        fake_registry.create_strategy("nope")


def test_strategy_loader_that_is_not_a_strategy_is_rejected(fake_registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match="not a ThrottleStrategy subclass"):
        fake_registry.strategy_class("strategy-not-a-strategy")


def test_strategy_implementation_is_loaded_and_cached(
    fake_registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = NATIVE_IMPLEMENTATION
    assert fake_registry.strategy_implementation("fake", "fake-strategy") == original
    monkeypatch.setattr(sys.modules[HERE], "NATIVE_IMPLEMENTATION", "changed after the first load")
    assert fake_registry.strategy_implementation("fake", "fake-strategy") == original


def test_strategy_implementation_is_none_when_not_registered(fake_registry: PluginRegistry) -> None:
    assert fake_registry.strategy_implementation("fake", "gcra") is None
    assert fake_registry.strategy_implementation("inmemory", "fake-strategy") is None


def test_integrations_are_listed_and_loaded(fake_registry: PluginRegistry) -> None:
    assert fake_registry.integrations() == {"web": IntegrationInfo("web", "starlette", f"{HERE}:INTEGRATION_ENTRY")}
    assert fake_registry.integration("web") is INTEGRATION_ENTRY
    with pytest.raises(PluginError, match="unknown integration 'django'; registered integrations: web"):
        fake_registry.integration("django")


def test_returned_tables_are_copies(fake_registry: PluginRegistry) -> None:
    fake_registry.backends().clear()
    fake_registry.strategies().clear()
    fake_registry.backend_schemes().clear()
    assert "fake" in fake_registry.backends()
    assert "fake-strategy" in fake_registry.strategies()
    assert "fake" in fake_registry.backend_schemes()
