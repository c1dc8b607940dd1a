"""The process-wide list of observers, and the calls that hand them events.

The hit path reads :data:`DISPATCH.observers <Dispatch.observers>` (a tuple,
empty when nobody listens) and builds an event only when it is not empty:
with no observer, one attribute read and a truth test is all events cost.

Observers declared by plugins (the ``traffik_observers`` hook) are collected
once, when a throttle first binds to a backend or :func:`observers` is first
called, never per request.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

from traffik.events._events import BackendErrorEvent, BreakerEvent, DecisionEvent, FailoverEvent, Observer
from traffik.exceptions import ConfigurationError, PluginError

if TYPE_CHECKING:
    from traffik.plugins import PluginRegistry

__all__ = [
    "DISPATCH",
    "Dispatch",
    "add_observer",
    "emit_backend_error",
    "emit_breaker",
    "emit_decision",
    "emit_failover",
    "load_plugin_observers",
    "load_plugin_observers_or_log",
    "observers",
    "remove_observer",
]

_LOGGER: Final = logging.getLogger("traffik")


class Dispatch:
    """Who listens. ``observers`` is replaced as a whole, never mutated, so a hit iterating it is safe."""

    __slots__ = ("_failed", "_lock", "observers", "plugins_loaded")

    def __init__(self) -> None:
        self.observers: tuple[Observer, ...] = ()
        self.plugins_loaded = False
        self._lock = threading.Lock()
        # (id(observer), method name) already logged as failing: each is logged once.
        self._failed: set[tuple[int, str]] = set()

    def failed(self, observer: Observer, method: str) -> None:
        """Log an observer's failure (with its traceback) the first time this observer's method raises."""
        mark = (id(observer), method)
        if mark in self._failed:
            return
        self._failed.add(mark)
        _LOGGER.exception(
            "observer %r raised in %s; the request goes on (further errors of this observer's %s are not logged)",
            observer,
            method,
            method,
        )


DISPATCH: Final = Dispatch()
"""The process-wide observers (core reads it on every hit)."""


def add_observer(observer: Observer) -> None:
    """Register ``observer`` for every throttle of the process (adding it twice keeps one).

    Args:
        observer: An :class:`~traffik.events.Observer` (a subclass instance).

    Raises:
        ConfigurationError: ``observer`` is not an :class:`~traffik.events.Observer`.

    Example:
        >>> from traffik.events import Observer, add_observer, observers, remove_observer
        >>> watcher = Observer()
        >>> add_observer(watcher)
        >>> watcher in observers()
        True
        >>> remove_observer(watcher)
    """
    if not isinstance(observer, Observer):
        raise ConfigurationError(
            f"traffik.events.add_observer: observer must be an instance of traffik.events.Observer, got {observer!r}"
        )
    with DISPATCH._lock:
        if not any(current is observer for current in DISPATCH.observers):
            DISPATCH.observers = (*DISPATCH.observers, observer)


def remove_observer(observer: Observer) -> None:
    """Stop sending events to ``observer`` (nothing happens if it was not registered)."""
    with DISPATCH._lock:
        DISPATCH.observers = tuple(current for current in DISPATCH.observers if current is not observer)


def observers() -> tuple[Observer, ...]:
    """The registered observers, in registration order (plugins' observers included)."""
    load_plugin_observers()
    return DISPATCH.observers


def load_plugin_observers(registry: PluginRegistry | None = None) -> None:
    """Collect the observers plugins declare through ``traffik_observers`` (once per process).

    Args:
        registry: Where to look (tests pass their own); default: the process-wide plugin registry.

    Raises:
        PluginError: A plugin's hook raised or returned something other than a list of observers.
    """
    if DISPATCH.plugins_loaded:
        return
    DISPATCH.plugins_loaded = True
    if registry is None:
        # Imported here: the plugin registry imports the throttles' modules, which import this one.
        from traffik.plugins import get_plugin_registry

        registry = get_plugin_registry()
    hook = registry.plugin_manager.hook.traffik_observers
    for impl in hook.get_hookimpls():
        plugin = impl.plugin_name
        try:
            result = impl.function()
        except Exception as exc:
            raise PluginError(f"plugin {plugin!r}: traffik_observers() raised {type(exc).__name__}: {exc}") from exc
        if result is None:
            continue
        if not isinstance(result, (list, tuple)) or not all(isinstance(item, Observer) for item in result):
            raise PluginError(f"plugin {plugin!r}: traffik_observers() must return a list of Observer, got {result!r}")
        for item in result:
            add_observer(item)


def load_plugin_observers_or_log() -> None:
    """:func:`load_plugin_observers`, for the request path: a broken plugin is logged, never raised.

    Observing must not take traffic down: a plugin whose ``traffik_observers`` hook fails
    (or whose entry point does not import) costs its observers, logged once as an error,
    and requests are throttled as before.
    """
    if DISPATCH.plugins_loaded:
        return
    try:
        load_plugin_observers()
    except PluginError as exc:
        _LOGGER.error("observers from plugins are not loaded, throttling goes on without them: %s", exc)


def emit_decision(event: DecisionEvent) -> None:
    """Hand ``event`` to every observer's ``on_decision``; an observer's error is logged, not raised."""
    for observer in DISPATCH.observers:
        try:
            observer.on_decision(event)
        except Exception:
            DISPATCH.failed(observer, "on_decision")


def emit_backend_error(event: BackendErrorEvent) -> None:
    """Hand ``event`` to every observer's ``on_backend_error``."""
    for observer in DISPATCH.observers:
        try:
            observer.on_backend_error(event)
        except Exception:
            DISPATCH.failed(observer, "on_backend_error")


def emit_failover(event: FailoverEvent) -> None:
    """Hand ``event`` to every observer's ``on_failover``."""
    for observer in DISPATCH.observers:
        try:
            observer.on_failover(event)
        except Exception:
            DISPATCH.failed(observer, "on_failover")


def emit_breaker(event: BreakerEvent) -> None:
    """Hand ``event`` to every observer's ``on_breaker``."""
    for observer in DISPATCH.observers:
        try:
            observer.on_breaker(event)
        except Exception:
            DISPATCH.failed(observer, "on_breaker")
