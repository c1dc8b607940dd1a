"""Calling the registration hooks and validating what each plugin returns.

This is the one place where untyped hook results meet Traffik: every result is
checked here (types, names, URL schemes, loader strings, duplicates) and turned
into a typed :class:`Catalog`. Errors name the plugin responsible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, TypeVar

import pluggy

from traffik.exceptions import PluginError
from traffik.plugins._info import BackendInfo, IntegrationInfo, StrategyImplementationInfo, StrategyInfo

__all__ = ["Catalog", "Describe", "build_catalog"]

Describe = Callable[[str], str]
"""Turns a plugin name into the words an error message uses for it.

Called only when there is an error to report: describing an entry-point
plugin reads its distribution's metadata, which discovery must not pay for.
"""

_NAME: Final = re.compile(r"[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*")
# RFC 3986 scheme syntax, lower case: URLs are matched after lower-casing theirs.
_SCHEME: Final = re.compile(r"[a-z][a-z0-9+.-]*")

_InfoT = TypeVar("_InfoT", BackendInfo, StrategyInfo, StrategyImplementationInfo, IntegrationInfo)


@dataclass
class Catalog:
    """Everything the plugins registered, validated and indexed."""

    backends: dict[str, tuple[BackendInfo, str]] = field(default_factory=dict)
    """Backend name -> (info, name of the plugin that registered it); the other tables alike."""
    schemes: dict[str, str] = field(default_factory=dict)
    """URL scheme -> backend name."""
    strategies: dict[str, tuple[StrategyInfo, str]] = field(default_factory=dict)
    implementations: dict[tuple[str, str], tuple[StrategyImplementationInfo, str]] = field(default_factory=dict)
    integrations: dict[str, tuple[IntegrationInfo, str]] = field(default_factory=dict)


def build_catalog(manager: pluggy.PluginManager, describe: Describe) -> Catalog:
    """Call every registration hook of every plugin and index the validated results.

    Plugins are visited in registration order (built-ins first), so a
    duplicate is always reported against the plugin that registered it later.

    Raises:
        PluginError: A hook failed, returned something invalid, or registered
            a name or URL scheme that another plugin already registered. The
            message starts with the plugin (and its distribution).
    """
    catalog = Catalog()
    try:
        _collect(manager, catalog)
    except _Invalid as invalid:
        others = f" {describe(invalid.other)}" if invalid.other is not None else ""
        raise PluginError(f"{describe(invalid.plugin)}: {invalid.message}{others}") from invalid.__cause__
    return catalog


class _Invalid(Exception):
    """A plugin's registration is invalid; turned into a PluginError with the plugin described."""

    def __init__(self, plugin: str, message: str, other: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.message = message
        self.other = other
        """A second plugin the message ends with (the one that registered a duplicate first)."""


def _collect(manager: pluggy.PluginManager, catalog: Catalog) -> None:
    for plugin, backend in _results(manager, "traffik_register_backends", BackendInfo):
        _add_backend(catalog, backend, plugin)
    for plugin, strategy in _results(manager, "traffik_register_strategies", StrategyInfo):
        what = f"strategy {strategy.name!r}"
        _check_name(strategy.name, "strategy name", plugin)
        _check_loader(strategy.loader, what, plugin)
        _check_description(strategy.description, what, plugin)
        _claim(catalog.strategies, strategy.name, (strategy, plugin), what)
    for plugin, implementation in _results(
        manager, "traffik_register_strategy_implementations", StrategyImplementationInfo
    ):
        what = f"implementation of strategy {implementation.strategy!r} for backend {implementation.backend!r}"
        _check_name(implementation.backend, "strategy implementation backend", plugin)
        _check_name(implementation.strategy, "strategy implementation strategy", plugin)
        _check_loader(implementation.loader, what, plugin)
        key = (implementation.backend, implementation.strategy)
        _claim(catalog.implementations, key, (implementation, plugin), what)
    for plugin, integration in _results(manager, "traffik_register_integrations", IntegrationInfo):
        what = f"integration {integration.name!r}"
        _check_name(integration.name, "integration name", plugin)
        _check_name(integration.framework, f"{what} framework", plugin)
        _check_loader(integration.loader, what, plugin)
        _check_description(integration.description, what, plugin)
        _claim(catalog.integrations, integration.name, (integration, plugin), what)


def _results(manager: pluggy.PluginManager, hook_name: str, info_type: type[_InfoT]) -> Iterator[tuple[str, _InfoT]]:
    # Each implementation is called on its own rather than through the hook
    # caller, so that every result (and every failure) is tied to its plugin.
    for impl in getattr(manager.hook, hook_name).get_hookimpls():
        plugin = impl.plugin_name
        if impl.hookwrapper or impl.wrapper:
            raise _Invalid(plugin, f"{hook_name} is a registration hook and cannot be a wrapper")
        try:
            result = impl.function()
        except Exception as exc:
            raise _Invalid(plugin, f"{hook_name}() raised {type(exc).__name__}: {exc}") from exc
        if result is None:
            continue
        if not isinstance(result, (list, tuple)):
            expected = f"a list of {info_type.__name__}"
            raise _Invalid(plugin, f"{hook_name}() must return {expected}, got {type(result).__name__}")
        for item in result:
            if not isinstance(item, info_type):
                raise _Invalid(plugin, f"{hook_name}() must return {info_type.__name__} items, got {item!r}")
            yield plugin, item


def _add_backend(catalog: Catalog, info: BackendInfo, plugin: str) -> None:
    what = f"backend {info.name!r}"
    _check_name(info.name, "backend name", plugin)
    _check_loader(info.loader, what, plugin)
    _check_description(info.description, what, plugin)
    schemes = info.url_schemes
    if not isinstance(schemes, tuple) or not all(isinstance(scheme, str) for scheme in schemes):
        raise _Invalid(plugin, f"{what} url_schemes must be a tuple of strings, got {schemes!r}")
    if len(set(schemes)) != len(schemes):
        raise _Invalid(plugin, f"{what} lists a URL scheme twice: {schemes!r}")
    for scheme in schemes:
        if not _SCHEME.fullmatch(scheme):
            raise _Invalid(
                plugin,
                f"{what} URL scheme {scheme!r} is invalid (a lower-case letter, then letters, digits, '+', '-', '.')",
            )
        owner = catalog.schemes.get(scheme)
        if owner is not None:
            message = f"{what} claims URL scheme {scheme!r}, already handled by backend {owner!r} from"
            raise _Invalid(plugin, message, other=catalog.backends[owner][1])
    _claim(catalog.backends, info.name, (info, plugin), what)
    for scheme in schemes:
        catalog.schemes[scheme] = info.name


_KeyT = TypeVar("_KeyT")
_ValueT = TypeVar("_ValueT", bound=tuple[object, str])


def _claim(table: dict[_KeyT, _ValueT], key: _KeyT, value: _ValueT, what: str) -> None:
    if key in table:
        raise _Invalid(value[1], f"{what} is already registered by", other=table[key][1])
    table[key] = value


def _check_name(value: object, what: str, plugin: str) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise _Invalid(
            plugin, f"{what} must be lower-case letters and digits separated by '-', '_' or '.', got {value!r}"
        )


def _check_loader(value: object, what: str, plugin: str) -> None:
    if isinstance(value, str):
        module, separator, attribute = value.partition(":")
        parts = [*module.split("."), *attribute.split(".")]
        if separator and all(part.isidentifier() for part in parts):
            return
    raise _Invalid(plugin, f"{what} loader must look like 'package.module:Attribute', got {value!r}")


def _check_description(value: object, what: str, plugin: str) -> None:
    if not isinstance(value, str):
        raise _Invalid(plugin, f"{what} description must be a string, got {value!r}")
