"""``install()`` in code, and the ``TRAFFIK_PROMETHEUS`` environment variable read by the plugin hook."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry
from traffik.events import add_observer
from traffik.exceptions import ConfigurationError
from traffik.prometheus._observer import DEFAULT_LATENCY_BUCKETS, PrometheusObserver

__all__ = ["ENVIRONMENT_VARIABLE", "enabled_by_environment", "install", "shared_observer"]

ENVIRONMENT_VARIABLE: Final = "TRAFFIK_PROMETHEUS"
"""Set to ``1`` (or ``true``, ``yes``) to count every decision on the default registry without code."""

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})
_LOCK: Final = threading.Lock()
# Keyed by the registry itself (not its id, which a later registry could reuse once it is gone).
_SHARED: dict[tuple[CollectorRegistry, str], PrometheusObserver] = {}


def enabled_by_environment() -> bool:
    """Whether ``TRAFFIK_PROMETHEUS`` asks for the observer.

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
    registry: CollectorRegistry | None = None,
    *,
    prefix: str = "traffik",
    latency_buckets: Sequence[float] = DEFAULT_LATENCY_BUCKETS,
) -> PrometheusObserver:
    """The one observer of this process for ``registry`` and ``prefix``, built on first request."""
    given: object = registry  # what a caller passed, whatever the annotation says
    if given is not None and not isinstance(given, CollectorRegistry):
        return PrometheusObserver(registry, prefix=prefix)  # raises the ConfigurationError that names it
    key = (REGISTRY if registry is None else registry, prefix)
    with _LOCK:
        observer = _SHARED.get(key)
        if observer is None:
            observer = _SHARED[key] = PrometheusObserver(registry, prefix=prefix, latency_buckets=latency_buckets)
        return observer


def install(
    registry: CollectorRegistry | None = None,
    *,
    prefix: str = "traffik",
    latency_buckets: Sequence[float] = DEFAULT_LATENCY_BUCKETS,
) -> PrometheusObserver:
    """Count every throttle decision of the process on ``registry``; returns the observer.

    Calling it again with the same registry and prefix returns the same observer
    (so does ``TRAFFIK_PROMETHEUS=1``, which installs it on the default registry).
    To stop: ``traffik.events.remove_observer(observer)``, then ``observer.close()``.

    Args:
        registry: Default: ``prometheus_client.REGISTRY``.
        prefix: The metric name prefix.
        latency_buckets: Upper bounds, in seconds, of the latency histogram
            (used when the observer is first built).

    Raises:
        ConfigurationError: An invalid argument.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> from traffik.events import remove_observer
        >>> registry = CollectorRegistry()
        >>> observer = install(registry)
        >>> install(registry) is observer
        True
        >>> remove_observer(observer)
    """
    observer = shared_observer(registry, prefix=prefix, latency_buckets=latency_buckets)
    add_observer(observer)
    return observer
