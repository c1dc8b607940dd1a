"""``install()`` in code, and the ``TRAFFIK_OPENTELEMETRY`` environment variable read by the plugin hook."""

from __future__ import annotations

import os
import threading
from typing import Final

from traffik.events import add_observer
from traffik.exceptions import ConfigurationError
from traffik.opentelemetry._observer import OpenTelemetryObserver

from opentelemetry.metrics import MeterProvider

__all__ = ["ENVIRONMENT_VARIABLE", "enabled_by_environment", "install", "shared_observer"]

ENVIRONMENT_VARIABLE: Final = "TRAFFIK_OPENTELEMETRY"
"""Set to ``1`` (or ``true``, ``yes``) to report every decision to the global providers without code."""

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})
_LOCK: Final = threading.Lock()
# Keyed by the provider itself (not its id, which a later provider could reuse once it is gone).
_SHARED: dict[MeterProvider | None, OpenTelemetryObserver] = {}


def enabled_by_environment() -> bool:
    """Whether ``TRAFFIK_OPENTELEMETRY`` asks for the observer.

    Raises:
        ConfigurationError: The variable is set to something that is no boolean.
    """
    raw = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(
        f"environment variable {ENVIRONMENT_VARIABLE} must be one of true/false/1/0/yes/no, "
        f"got {os.environ[ENVIRONMENT_VARIABLE]!r}"
    )


def shared_observer(
    meter_provider: MeterProvider | None = None, *, span_events: bool = True, latency: bool = True
) -> OpenTelemetryObserver:
    """The one observer of this process for ``meter_provider`` (``None``: the global one), built on first request."""
    given: object = meter_provider  # what a caller passed, whatever the annotation says
    if given is not None and not isinstance(given, MeterProvider):
        return OpenTelemetryObserver(meter_provider)  # raises the ConfigurationError that names it
    key = meter_provider
    with _LOCK:
        observer = _SHARED.get(key)
        if observer is None:
            observer = _SHARED[key] = OpenTelemetryObserver(meter_provider, span_events=span_events, latency=latency)
        return observer


def install(
    meter_provider: MeterProvider | None = None, *, span_events: bool = True, latency: bool = True
) -> OpenTelemetryObserver:
    """Report every throttle decision of the process through OpenTelemetry; returns the observer.

    Calling it again with the same meter provider returns the same observer (so
    does ``TRAFFIK_OPENTELEMETRY=1``, which installs it on the global providers).
    To stop: ``traffik.events.remove_observer(observer)``.

    Args:
        meter_provider: Default: the global meter provider.
        span_events: Add a ``traffik.decision`` event to the current span.
        latency: Record the backend latency histogram.

    Raises:
        ConfigurationError: An invalid argument.

    Example:
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> from traffik.events import remove_observer
        >>> provider = MeterProvider()
        >>> observer = install(provider)
        >>> install(provider) is observer
        True
        >>> remove_observer(observer)
    """
    observer = shared_observer(meter_provider, span_events=span_events, latency=latency)
    add_observer(observer)
    return observer
