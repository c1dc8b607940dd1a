"""The plugin registry: discovers plugins on first use and hands out typed results."""

from __future__ import annotations

import threading
import time
from importlib import import_module
from typing import Any, Final, cast

import pluggy

from traffik import hookspecs
from traffik.__about__ import __version__ as _core_version
from traffik._missing_plugins import PLUGIN_PROVIDERS
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConfigurationError, PluginError
from traffik.plugins._catalog import Catalog, build_catalog
from traffik.plugins._entry_points import find_entry_points
from traffik.plugins._info import (
    BackendInfo,
    IntegrationInfo,
    PluginInfo,
    StrategyInfo,
    load_object,
)
from traffik.strategies import ThrottleStrategy
from traffik.validation import instance_of, invalid

__all__ = ["BUILTIN_PLUGIN_NAME", "PluginRegistry"]

BUILTIN_PLUGIN_NAME: Final = "builtin"
"""The name core's own plugin module (:mod:`traffik._builtin_plugin`) is registered under."""

# URL schemes of the first-party plugins, so an unknown scheme can say what to install.
_SCHEME_PROVIDERS: Final = {
    "redis": "traffik.backends.redis",
    "rediss": "traffik.backends.redis",
    "memcached": "traffik.backends.memcached",
}
_URL: Final = instance_of(str, description="a string such as 'memory://'")


class PluginRegistry:
    """Owns a :class:`pluggy.PluginManager` and turns what plugins register into typed answers.

    Discovery happens on first use (any method below), never at construction:
    the built-in plugin is registered first, then every entry point of the
    ``traffik`` group is loaded, then every registration hook is called once and
    its results are validated. Loaded classes are cached, so nothing here runs
    on the request path after the first lookup.

    Most code uses the shared instance from :func:`traffik.plugins.get_plugin_registry`;
    tests build their own.

    Args:
        load_entry_points: Load installed ``[project.entry-points.traffik]``
            plugins. ``False`` gives a registry with only the built-ins plus
            whatever is passed to :meth:`register`.

    Example:
        >>> registry = PluginRegistry(load_entry_points=False)
        >>> sorted(registry.backend_schemes())
        ['inmemory', 'memory']
        >>> "token-bucket" in registry.strategies()
        True
    """

    def __init__(self, *, load_entry_points: bool = True) -> None:
        self._load_entry_points = load_entry_points
        self._lock = threading.RLock()
        self._manager: pluggy.PluginManager | None = None
        self._catalog: Catalog | None = None
        self._discovering = False
        self._discovery_ms: float | None = None
        self._loaded: dict[tuple[str, str], object] = {}
        self._distributions: dict[str, tuple[str, str]] = {}

    # -- discovery ----------------------------------------------------------

    def discover(self) -> None:
        """Discover plugins now instead of on first use (does nothing the second time).

        Raises:
            PluginError: A plugin failed to load or registered something invalid.
        """
        self._ensure_catalog()

    @property
    def discovery_ms(self) -> float | None:
        """How long discovery took, in milliseconds (``None`` until it ran)."""
        return self._discovery_ms

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """The underlying plugin manager, after discovery."""
        self._ensure_catalog()
        assert self._manager is not None
        return self._manager

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object (a module or an instance with hook implementations).

        The plugin's registrations are validated at once; if they are invalid
        or clash with existing ones, the plugin is unregistered again.

        Args:
            plugin: The object whose :data:`~traffik.plugins.hookimpl` functions to register.
            name: Plugin name for listings and error messages (pluggy picks one if omitted).

        Returns:
            The name the plugin was registered under.

        Raises:
            PluginError: The plugin is already registered, or what it registers is invalid.
        """
        with self._lock:
            self._ensure_catalog()
            manager = self._manager
            assert manager is not None
            try:
                registered = manager.register(plugin, name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                raise PluginError(f"cannot register plugin {name or plugin!r}: {exc}") from exc
            if registered is None:
                raise PluginError(f"cannot register plugin {name or plugin!r}: the name is blocked")
            try:
                self._catalog = build_catalog(manager, self._describe)
            except PluginError:
                manager.unregister(name=registered)
                raise
            return registered

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin with its distribution and version, built-in first."""
        self._ensure_catalog()
        manager = self._manager
        assert manager is not None
        infos = []
        for name, plugin in manager.list_name_plugin():
            if plugin is None:  # a blocked name
                continue
            dist = self._distributions.get(name)
            if name == BUILTIN_PLUGIN_NAME:
                infos.append(PluginInfo(name, "traffik-core", _core_version))
            elif dist is not None:
                infos.append(PluginInfo(name, dist[0], dist[1]))
            else:
                infos.append(PluginInfo(name, None, None))
        return infos

    # -- backends -----------------------------------------------------------

    def backends(self) -> dict[str, BackendInfo]:
        """Registered backends by name."""
        return {name: info for name, (info, _) in self._ensure_catalog().backends.items()}

    def backend_schemes(self) -> dict[str, str]:
        """URL scheme -> name of the backend that handles it."""
        return dict(self._ensure_catalog().schemes)

    def backend_class(self, name: str) -> type[ThrottleBackend]:
        """Import (once) and return the backend class registered as ``name``.

        Raises:
            PluginError: No backend has that name, its class cannot be imported,
                is not a :class:`~traffik.backends.base.ThrottleBackend`, or its
                ``NAME`` differs from the registered name.
        """
        backends = self._ensure_catalog().backends
        if name not in backends:
            raise PluginError(f"unknown backend {name!r}; registered backends: {_listing(backends)}")
        info, plugin = backends[name]
        # _load_class checked the subclass; the cast only tells mypy (abstract classes cannot bind a type[T]).
        return cast("type[ThrottleBackend]", self._load_class("backend", name, info.loader, plugin, ThrottleBackend))

    def backend_for_scheme(self, scheme: str) -> type[ThrottleBackend]:
        """The backend class that handles URL scheme ``scheme`` (case-insensitive).

        Raises:
            PluginError: No installed plugin handles the scheme; the message lists
                the known schemes and, for Redis and Memcached, the install command.
        """
        catalog = self._ensure_catalog()
        backend_name = catalog.schemes.get(scheme.lower())
        if backend_name is None:
            message = f"no backend handles URL scheme {scheme!r}; known schemes: {_listing(catalog.schemes)}"
            module = _SCHEME_PROVIDERS.get(scheme.lower())
            if module is not None:
                distribution, extra = PLUGIN_PROVIDERS[module]
                message += f". The {scheme!r} scheme is provided by {distribution}: pip install 'traffik[{extra}]'"
            raise PluginError(message)
        return self.backend_class(backend_name)

    def backend_from_url(self, url: str, **options: Any) -> ThrottleBackend:
        """Build a backend from a URL: its scheme picks the class, whose ``from_url`` does the rest.

        Args:
            url: For example ``"memory://"`` or ``"redis://localhost:6379/0"``.
            **options: Passed to the backend's ``from_url`` (``namespace=``, ``persistent=``, ...).

        Raises:
            ConfigurationError: ``url`` has no scheme, or no plugin handles it
                (a :class:`~traffik.exceptions.PluginError`).
        """
        _URL("backend_from_url", "url", url)
        scheme, separator, _ = url.partition(":")
        if not separator or not scheme:
            raise invalid("backend_from_url", "url", "a URL starting with a scheme such as 'memory://'", url)
        return self.backend_for_scheme(scheme).from_url(url, **options)

    # -- strategies ---------------------------------------------------------

    def strategies(self) -> dict[str, StrategyInfo]:
        """Registered strategies by name."""
        return {name: info for name, (info, _) in self._ensure_catalog().strategies.items()}

    def strategy_class(self, name: str) -> type[ThrottleStrategy]:
        """Import (once) and return the strategy class registered as ``name``.

        Raises:
            PluginError: No strategy has that name, or its class cannot be imported,
                is not a :class:`~traffik.strategies.ThrottleStrategy`, or has another ``NAME``.
        """
        strategies = self._ensure_catalog().strategies
        if name not in strategies:
            raise PluginError(f"unknown strategy {name!r}; registered strategies: {_listing(strategies)}")
        info, plugin = strategies[name]
        return cast("type[ThrottleStrategy]", self._load_class("strategy", name, info.loader, plugin, ThrottleStrategy))

    def create_strategy(self, name: str, **params: Any) -> ThrottleStrategy:
        """Build the strategy registered as ``name`` with ``params``.

        Example:
            >>> PluginRegistry(load_entry_points=False).create_strategy("fixed-window")
            FixedWindow()

        Raises:
            PluginError: Unknown strategy (see :meth:`strategy_class`).
            ConfigurationError: The strategy rejects ``params``.
        """
        strategy_class = self.strategy_class(name)
        try:
            return strategy_class(**params)
        except TypeError as exc:
            raise ConfigurationError(f"strategy {name!r}: invalid parameters {params!r}: {exc}") from exc

    def strategy_implementation(self, backend_name: str, strategy_name: str) -> object | None:
        """The native implementation of a strategy for a backend, loaded once; ``None`` if there is none.

        What comes back is private to the backend (a Lua script, a function).

        Raises:
            PluginError: An implementation is registered but cannot be imported.
        """
        entry = self._ensure_catalog().implementations.get((backend_name, strategy_name))
        if entry is None:
            return None
        info, plugin = entry
        what = f"implementation of strategy {strategy_name!r} for backend {backend_name!r}"
        return self._load("implementation", f"{backend_name}/{strategy_name}", what, info.loader, plugin)

    # -- integrations -------------------------------------------------------

    def integrations(self) -> dict[str, IntegrationInfo]:
        """Registered framework integrations by name."""
        return {name: info for name, (info, _) in self._ensure_catalog().integrations.items()}

    def integration(self, name: str) -> object:
        """Import (once) and return the entry object of integration ``name``.

        Raises:
            PluginError: No integration has that name, or it cannot be imported.
        """
        integrations = self._ensure_catalog().integrations
        if name not in integrations:
            raise PluginError(f"unknown integration {name!r}; registered integrations: {_listing(integrations)}")
        info, plugin = integrations[name]
        return self._load("integration", name, f"integration {name!r}", info.loader, plugin)

    # -- internals ----------------------------------------------------------

    def _ensure_catalog(self) -> Catalog:
        catalog = self._catalog
        if catalog is not None:
            return catalog
        with self._lock:
            if self._catalog is None:
                if self._discovering:
                    raise PluginError("a plugin used the plugin registry while it was being discovered")
                self._discovering = True
                try:
                    self._discover()
                finally:
                    self._discovering = False
            assert self._catalog is not None
            return self._catalog

    def _discover(self) -> None:
        started = time.perf_counter()
        # A fresh manager per attempt: a failed discovery leaves nothing half-registered
        # behind, so the next use reports the same error instead of a confusing one.
        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        from traffik import _builtin_plugin

        manager.register(_builtin_plugin, name=BUILTIN_PLUGIN_NAME)
        self._distributions = _load_entry_points(manager) if self._load_entry_points else {}
        self._manager = manager
        try:
            self._catalog = build_catalog(manager, self._describe)
        except PluginError:
            self._manager = None
            raise
        self._discovery_ms = (time.perf_counter() - started) * 1000.0

    def _describe(self, plugin_name: str) -> str:
        dist = self._distributions.get(plugin_name)
        if dist is not None:
            return f"plugin {plugin_name!r} ({dist[0]} {dist[1]})"
        return f"plugin {plugin_name!r}"

    def _load(self, kind: str, key: str, what: str, loader: str, plugin: str) -> object:
        cached = self._loaded.get((kind, key), _MISSING)
        if cached is not _MISSING:
            return cached
        try:
            loaded = load_object(loader)
        except Exception as exc:
            raise PluginError(
                f"{self._describe(plugin)}: cannot load {what} from {loader!r}: {type(exc).__name__}: {exc}"
            ) from exc
        self._loaded[(kind, key)] = loaded
        return loaded

    def _load_class(self, kind: str, name: str, loader: str, plugin: str, base: type) -> type:
        what = f"{kind} {name!r}"
        loaded = self._load(kind, name, what, loader, plugin)
        if not isinstance(loaded, type) or not issubclass(loaded, base):
            raise PluginError(
                f"{self._describe(plugin)}: {what} loader {loader!r} gave {loaded!r}, not a {base.__name__} subclass"
            )
        declared = getattr(loaded, "NAME", None)
        if declared != name:
            raise PluginError(
                f"{self._describe(plugin)}: {what} is registered as {name!r} but {loaded.__name__}.NAME is {declared!r}"
            )
        return loaded


_MISSING: Final = object()


def _listing(names: dict[Any, Any]) -> str:
    return ", ".join(sorted(names)) or "none"


def _load_entry_points(manager: pluggy.PluginManager) -> dict[str, tuple[str, str]]:
    """Register every ``traffik`` entry point; returns plugin name -> (distribution, version)."""
    distributions: dict[str, tuple[str, str]] = {}
    for entry_point in find_entry_points(hookspecs.PROJECT_NAME):
        if manager.get_plugin(entry_point.name) is not None or manager.is_blocked(entry_point.name):
            continue
        try:
            plugin = load_object(entry_point.value) if ":" in entry_point.value else import_module(entry_point.module)
            manager.register(plugin, name=entry_point.name)
        except Exception as exc:
            raise PluginError(
                f"plugin {entry_point.name!r} ({entry_point.distribution} {entry_point.version}) failed to load "
                f"entry point {entry_point.value!r}: {type(exc).__name__}: {exc}"
            ) from exc
        distributions[entry_point.name] = (entry_point.distribution, entry_point.version)
    return distributions
