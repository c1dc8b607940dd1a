"""install() in code, TRAFFIK_PROMETHEUS through the traffik_observers hook (in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client import CollectorRegistry
from traffik.events import observers, remove_observer
from traffik.exceptions import ConfigurationError
from traffik.prometheus import ENVIRONMENT_VARIABLE, PrometheusObserver, install
from traffik.prometheus._plugin import traffik_observers


def test_install_adds_one_observer_per_registry(registry: CollectorRegistry) -> None:
    observer = install(registry)
    assert isinstance(observer, PrometheusObserver)
    assert install(registry) is observer
    assert observers() == (observer,)
    other = install(CollectorRegistry())
    assert observers() == (observer, other)
    remove_observer(observer)
    remove_observer(other)


def test_the_hook_adds_nothing_unless_the_variable_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert traffik_observers() == []
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "0")
    assert traffik_observers() == []
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "maybe")
    with pytest.raises(
        ConfigurationError,
        match=r"^environment variable TRAFFIK_PROMETHEUS must be one of true/false/1/0/yes/no, got 'maybe'$",
    ):
        traffik_observers()


def test_the_variable_counts_every_decision_on_the_default_registry() -> None:
    # A fresh interpreter: the hook runs once per process, when a throttle first binds to a backend.
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from prometheus_client import REGISTRY
        from starlette.requests import Request
        from traffik import HTTPThrottle
        from traffik.backends.inmemory import InMemoryBackend
        from traffik.exceptions import ConnectionThrottled

        def request():
            return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("192.0.2.9", 1)})

        async def main():
            throttle = HTTPThrottle("env:api", rate="1/hour", backend=InMemoryBackend())
            await throttle.hit(request())
            try:
                await throttle.hit(request())
            except ConnectionThrottled:
                pass

        asyncio.run(main())
        get = REGISTRY.get_sample_value
        print(json.dumps([get("traffik_decisions_total", {"throttle": "env:api", "outcome": outcome})
                          for outcome in ("allowed", "throttled")]))
        """
    )
    environment = {**os.environ, ENVIRONMENT_VARIABLE: "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=environment, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [1.0, 1.0]


def test_install_names_an_invalid_registry() -> None:
    with pytest.raises(ConfigurationError, match=r"^PrometheusObserver: registry must be .*, got \['registry'\]$"):
        install(["registry"])  # type: ignore[arg-type]  # the error under test (unhashable, too)
