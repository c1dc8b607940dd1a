"""The observer registry: registration, isolation of failing observers, the plugin hook."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import (
    BreakerEvent,
    DecisionEvent,
    Observer,
    Outcome,
    add_observer,
    observers,
    remove_observer,
)
from traffik.events._dispatch import DISPATCH, emit_breaker, emit_decision, load_plugin_observers
from traffik.exceptions import ConfigurationError, ConnectionThrottled, PluginError
from traffik.hookspecs import hookimpl
from traffik.plugins import PluginRegistry
from traffik.plugins import _default as plugin_defaults
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle

from tests.core.events.conftest import make_request

EVENT = DecisionEvent(
    throttle_uid="t",
    strategy="fixed-window",
    backend="inmemory",
    outcome=Outcome.ALLOWED,
    cost=1,
    remaining=4,
    limit=5,
    wait_seconds=0.0,
    backend_latency=0.001,
    near_limit=False,
    shadow=False,
)


class Recorder(Observer):
    def __init__(self) -> None:
        self.decisions: list[DecisionEvent] = []

    def on_decision(self, event: DecisionEvent) -> None:
        self.decisions.append(event)


class Exploding(Observer):
    def on_decision(self, event: DecisionEvent) -> None:
        raise RuntimeError("observer bug")


@pytest.fixture(autouse=True)
def _no_observers() -> Iterator[None]:
    before, loaded = DISPATCH.observers, DISPATCH.plugins_loaded
    DISPATCH.observers, DISPATCH.plugins_loaded = (), True
    yield
    DISPATCH.observers, DISPATCH.plugins_loaded = before, loaded


def test_add_remove_and_list() -> None:
    first, second = Recorder(), Recorder()
    add_observer(first)
    add_observer(second)
    add_observer(first)  # twice keeps one
    assert observers() == (first, second)
    remove_observer(first)
    remove_observer(first)  # absent: nothing happens
    assert observers() == (second,)


def test_add_observer_rejects_a_non_observer() -> None:
    with pytest.raises(ConfigurationError, match=r"add_observer: observer must be .*Observer, got 42"):
        add_observer(42)  # type: ignore[arg-type]  # the error under test


def test_events_are_frozen() -> None:
    with pytest.raises(AttributeError):
        EVENT.cost = 2  # type: ignore[misc]  # the error under test
    assert Outcome.SHADOW_THROTTLED.value == "shadow-throttled"


def test_base_observer_methods_do_nothing() -> None:
    add_observer(Observer())
    emit_decision(EVENT)
    emit_breaker(BreakerEvent("b", "closed", "open"))


def test_a_failing_observer_is_logged_once_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    add_observer(Exploding())
    add_observer(recorder)
    with caplog.at_level(logging.ERROR, logger="traffik"):
        emit_decision(EVENT)
        emit_decision(EVENT)
    assert recorder.decisions == [EVENT, EVENT]
    failures = [record for record in caplog.records if "raised in on_decision" in record.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None


class _ObserverPlugin:
    def __init__(self, result: object) -> None:
        self.result = result

    @hookimpl
    def traffik_observers(self) -> object:
        return self.result


def test_a_plugin_adds_observers_through_the_hook() -> None:
    recorder = Recorder()
    plugin = _ObserverPlugin([recorder])
    registry = PluginRegistry(load_entry_points=False)
    registry.register(plugin, name="observer-plugin")
    DISPATCH.plugins_loaded = False
    load_plugin_observers(registry)
    assert observers() == (recorder,)
    # Collected once: later calls neither add it again nor ask the hook again.
    plugin.result = [Recorder()]
    load_plugin_observers(registry)
    assert observers() == (recorder,)


@pytest.mark.parametrize("result", [["not an observer"], "nope"], ids=["item", "not-a-list"])
def test_a_plugin_returning_something_else_is_a_plugin_error(result: object) -> None:
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_ObserverPlugin(result), name="bad-observer-plugin")
    DISPATCH.plugins_loaded = False
    with pytest.raises(PluginError, match=r"'bad-observer-plugin': traffik_observers\(\) must return a list"):
        load_plugin_observers(registry)


async def test_a_broken_observer_plugin_is_logged_and_throttling_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_ObserverPlugin("nope"), name="bad-observer-plugin")
    monkeypatch.setattr(plugin_defaults, "_default_registry", registry)
    DISPATCH.plugins_loaded = False
    throttle = HTTPThrottle(
        "broken-plugin",
        rate="1/min",
        backend=InMemoryBackend(clock=ManualClock(10_000.0)),
        registry=ThrottleRegistry(),
        identifier=_one_client,
    )

    with caplog.at_level(logging.ERROR, logger="traffik"):
        await throttle.hit(make_request())
        with pytest.raises(ConnectionThrottled):
            await throttle.hit(make_request())

    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "bad-observer-plugin" in errors[0]
    assert "throttling goes on without them" in errors[0]


def _one_client(connection: object) -> str:
    return "client"
