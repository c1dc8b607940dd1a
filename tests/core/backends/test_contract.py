"""The declared backend contract: capabilities checked at construction, one native-strategy rule, typed hooks."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from traffik.backends import base
from traffik.backends.base import BackendCapabilities, BackendRouter, NativeStrategies, ThrottleBackend, runs_natively
from traffik.backends.inmemory import InMemoryBackend
from traffik.error_handlers import failover
from traffik.exceptions import PluginError
from traffik.locks import AsyncLock
from traffik.rates import Rate
from traffik.strategies import Decision, FixedWindow, SlidingWindowLog, State, ThrottleStrategy


class _Cleared(ThrottleBackend):
    NAME: ClassVar[str] = "cleared"

    async def clear(self) -> None:
        return None


def test_a_backend_declaring_nothing_still_constructs() -> None:
    # Third-party backends written before CAPABILITIES existed keep working.
    assert BackendCapabilities() == _Cleared("ns").CAPABILITIES


class _StoreWithoutLoad(_Cleared):
    CAPABILITIES = BackendCapabilities(state_store=True)

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        return None


class _NativeWithoutPeek(_Cleared):
    CAPABILITIES = BackendCapabilities(native_strategies=True)

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        return Decision(True, 0.0, 1)


class _SharedLocksWithoutLock(_Cleared):
    CAPABILITIES = BackendCapabilities(shared_locks=True)


class _RouterWithoutHit(_Cleared):
    CAPABILITIES = BackendCapabilities(routing=True)


@pytest.mark.parametrize(
    ("cls", "capability", "missing"),
    [
        (_StoreWithoutLoad, "state_store", "load_state()"),
        (_NativeWithoutPeek, "native_strategies", "peek()"),
        (_SharedLocksWithoutLock, "shared_locks", "lock()"),
        (_RouterWithoutHit, "routing", "hit, peek()"),
    ],
    ids=["state-store", "native-strategies", "shared-locks", "routing"],
)
def test_a_declared_capability_without_its_methods_fails_at_construction(
    cls: type[ThrottleBackend], capability: str, missing: str
) -> None:
    with pytest.raises(TypeError) as caught:
        cls("ns")
    assert str(caught.value) == f"{cls.__name__} declares {capability}=True but does not implement {missing}"


def test_capabilities_must_be_declared_with_the_dataclass() -> None:
    class Loose(_Cleared):
        CAPABILITIES = ("state_store",)  # type: ignore[assignment]  # the mistake under test

    with pytest.raises(TypeError, match="CAPABILITIES must be a BackendCapabilities"):
        Loose("ns")


class _FullStore(_Cleared):
    CAPABILITIES = BackendCapabilities(state_store=True, shared_locks=True)

    async def load_state(self, key: str) -> State | None:
        return None

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        return None

    def lock(self, name: str) -> AsyncLock:
        return super().lock(name)


def test_a_backend_implementing_what_it_declares_constructs() -> None:
    assert _FullStore("ns").CAPABILITIES.state_store


def test_the_builtin_backends_declare_what_they_do() -> None:
    inmemory = InMemoryBackend()
    assert BackendCapabilities(native_strategies=True, state_store=True) == inmemory.CAPABILITIES
    routed = failover(backend=InMemoryBackend()).route_backend(_FullStore("primary"))
    assert BackendCapabilities(routing=True) == routed.CAPABILITIES


def test_the_hooks_are_declared_on_the_base_class() -> None:
    backend = _Cleared("ns")
    assert backend.default_strategy is None
    assert backend.call_timeout == base.DEFAULT_CALL_TIMEOUT == 1.5
    assert isinstance(failover(backend=InMemoryBackend()), BackendRouter)
    assert not isinstance(backend, BackendRouter)


class _LogScript:
    strategy_class = SlidingWindowLog


class _Undeclared:
    pass


class _TweakedLog(SlidingWindowLog):
    pass


@pytest.mark.parametrize(
    ("implementation", "strategy", "expected"),
    [
        (_LogScript(), SlidingWindowLog(), True),
        (_LogScript(), SlidingWindowLog, True),
        (_LogScript(), _TweakedLog(), False),
        (_LogScript(), FixedWindow(), False),
        (_Undeclared(), SlidingWindowLog(), False),
        (None, SlidingWindowLog(), False),
    ],
    ids=["exact-instance", "exact-class", "subclass", "other-strategy", "undeclared", "none"],
)
def test_runs_natively_only_for_the_exact_declared_class(implementation: object, strategy: Any, expected: bool) -> None:
    assert runs_natively(implementation, strategy) is expected


def test_native_strategies_decides_once_per_class() -> None:
    native: NativeStrategies[type[_LogScript]] = NativeStrategies("demo", builtin=[_LogScript], registered=False)
    assert native.find(SlidingWindowLog()) is _LogScript
    assert native.find(_TweakedLog()) is None
    assert dict(native) == {SlidingWindowLog: _LogScript, _TweakedLog: None}


class _Registry:
    """The one registry method NativeStrategies uses: an implementation of each strategy for backend 'demo'."""

    def __init__(self, implementation: object) -> None:
        self.implementation = implementation
        self.asked: list[tuple[str, str]] = []

    def strategy_implementation(self, backend_name: str, strategy_name: str) -> object | None:
        self.asked.append((backend_name, strategy_name))
        return self.implementation


def test_native_strategies_asks_the_registry_by_backend_and_strategy_name(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _Registry(_LogScript())
    monkeypatch.setattr("traffik.plugins.get_plugin_registry", lambda: registry)
    native: NativeStrategies[_LogScript] = NativeStrategies("demo", kind=_LogScript)
    assert native.find(SlidingWindowLog()) is registry.implementation
    assert native.find(_TweakedLog()) is None  # registered under the same NAME, for the parent class only
    native.find(SlidingWindowLog())
    assert registry.asked == [("demo", "sliding-window-log")] * 2  # once per class


def test_native_strategies_refuses_a_registered_implementation_of_the_wrong_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("traffik.plugins.get_plugin_registry", lambda: _Registry("not a script"))
    native: NativeStrategies[_LogScript] = NativeStrategies("demo", kind=_LogScript)
    with pytest.raises(PluginError) as caught:
        native.find(SlidingWindowLog())
    assert str(caught.value) == (
        "the implementation of strategy 'sliding-window-log' for backend 'demo' must be a "
        f"{__name__}._LogScript, got 'not a script'"
    )
    assert SlidingWindowLog not in native  # nothing remembered: the next lookup asks again


async def test_the_inmemory_backend_runs_a_log_subclass_through_its_own_step() -> None:
    class Refusing(SlidingWindowLog):
        def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
            return state, Decision(False, 1_234.0, 0)

    backend = InMemoryBackend()
    decision = await backend.hit("k", Refusing(), Rate.parse("100/min"))
    assert (decision.allowed, decision.wait_ms) == (False, 1_234.0)
    assert (await backend.hit("k", SlidingWindowLog(), Rate.parse("100/min"))).allowed


def test_the_public_names_are_the_split_modules_own() -> None:
    from traffik.backends import _codec, _context, _generic, _native

    assert base.encode_state is _codec.encode_state
    assert base.decode_state is _codec.decode_state
    assert base.step_or_reset is _generic.step_or_reset
    assert base.peek_or_reset is _generic.peek_or_reset
    assert base.get_active_backend is _context.get_active_backend
    assert base.runs_natively is _native.runs_natively


def test_the_former_lazy_module_still_imports() -> None:
    from traffik import _lazy, lazy

    assert _lazy.lazy_attributes is lazy.lazy_attributes
