"""install() in code, TRAFFIK_OPENTELEMETRY through the traffik_observers hook (in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from traffik.events import observers, remove_observer
from traffik.exceptions import ConfigurationError
from traffik.opentelemetry import ENVIRONMENT_VARIABLE, OpenTelemetryObserver, install
from traffik.opentelemetry._plugin import traffik_observers


def test_install_adds_one_observer_per_meter_provider() -> None:
    provider = MeterProvider()
    observer = install(provider)
    assert isinstance(observer, OpenTelemetryObserver)
    assert install(provider) is observer
    assert observers() == (observer,)
    remove_observer(observer)
    provider.shutdown()


def test_the_hook_adds_nothing_unless_the_variable_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert traffik_observers() == []
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "false")
    assert traffik_observers() == []
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "2")
    with pytest.raises(
        ConfigurationError,
        match=r"^environment variable TRAFFIK_OPENTELEMETRY must be one of true/false/1/0/yes/no, got '2'$",
    ):
        traffik_observers()


def test_the_variable_reports_to_the_global_meter_provider() -> None:
    # A fresh interpreter: the hook runs once per process, and the global provider can be set only once.
    script = textwrap.dedent(
        """
        import asyncio, json
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from starlette.requests import Request
        from traffik import HTTPThrottle
        from traffik.backends.inmemory import InMemoryBackend

        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

        async def main():
            throttle = HTTPThrottle("env:otel", rate="5/hour", backend=InMemoryBackend())
            scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("192.0.2.9", 1)}
            await throttle.hit(Request(scope))

        asyncio.run(main())
        found = [
            (metric.name, point.value)
            for resource in reader.get_metrics_data().resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == "traffik.decisions"
            for point in metric.data.data_points
        ]
        print(json.dumps(found))
        """
    )
    environment = {**os.environ, ENVIRONMENT_VARIABLE: "true"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=environment, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["traffik.decisions", 1]]


def test_install_names_an_invalid_meter_provider() -> None:
    with pytest.raises(ConfigurationError, match=r"^OpenTelemetryObserver: meter_provider must be .*, got \[\]$"):
        install([])  # type: ignore[arg-type]  # the error under test (unhashable, too)
