"""Every hook a Traffik plugin can implement, in one place.

Plugins are distributions that declare ``[project.entry-points.traffik]``; the
entry module implements some of these hooks with :data:`hookimpl`. Hooks
register *descriptions* of what a plugin offers; the classes behind them are
imported only when first used, so discovering plugins never imports a client
library (redis, aiomcache, fastapi). Built-in components register through the
very same hooks.

Each hook is called once per process, on first use of the plugin registry
(never at import, never on the request path). The registry checks every result
(types, names, URL schemes, ``"module:Attribute"`` loaders) and raises
:class:`~traffik.exceptions.PluginError` naming the plugin for an invalid one
or for a name or scheme another plugin already registered. Registration hooks
cannot be wrappers. ``hookimpl`` is also importable from :mod:`traffik.plugins`.

Example:
    A third-party backend's entry module::

        from traffik.hookspecs import hookimpl
        from traffik.plugins import BackendInfo

        @hookimpl
        def traffik_register_backends() -> list[BackendInfo]:
            return [BackendInfo(name="sqlite", url_schemes=("sqlite",),
                                loader="traffik_sqlite:SQLiteBackend")]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pluggy

if TYPE_CHECKING:
    from traffik.events import Observer
    from traffik.plugins._info import BackendInfo, IntegrationInfo, StrategyImplementationInfo, StrategyInfo

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME: Final = "traffik"
"""The pluggy project name and the entry-point group plugins declare."""

hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def traffik_register_backends() -> list[BackendInfo]:  # type: ignore[empty-body]  # hook spec: no body
    """Backends this plugin provides, by name and URL scheme.

    Each :class:`~traffik.plugins.BackendInfo` names a lazily imported
    :class:`~traffik.backends.base.ThrottleBackend` subclass.
    """


@hookspec
def traffik_register_strategies() -> list[StrategyInfo]:  # type: ignore[empty-body]  # hook spec: no body
    """Strategies this plugin provides, by name (usable as ``strategy="name"``)."""


@hookspec
def traffik_register_strategy_implementations() -> list[StrategyImplementationInfo]:  # type: ignore[empty-body]
    """Native implementations of strategies for a backend (a Lua script, a CAS loop, ...).

    A backend asks the plugin registry for the implementation of a strategy
    on its ``NAME``; it falls back to running the pure step when there is none.
    """


@hookspec
def traffik_register_integrations() -> list[IntegrationInfo]:  # type: ignore[empty-body]  # hook spec: no body
    """Framework integrations this plugin provides (for example FastAPI helpers)."""


@hookspec
def traffik_observers() -> list[Observer]:  # type: ignore[empty-body]  # hook spec: no body
    """Observers of decision events this plugin adds (:class:`~traffik.events.Observer` instances).

    Called once per process, when a throttle first binds to a backend (or
    :func:`traffik.events.observers` is first called), never per request, and
    after discovery, so the implementation may import its client library
    (``prometheus_client``, ``opentelemetry``) here. Return an empty list
    when the plugin is installed but not configured.
    """
