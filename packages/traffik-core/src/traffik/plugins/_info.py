"""What plugins register: small frozen descriptions with lazy loaders."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from traffik.exceptions import PluginError

__all__ = [
    "BackendInfo",
    "IntegrationInfo",
    "PluginInfo",
    "StrategyImplementationInfo",
    "StrategyInfo",
    "load_object",
]


def load_object(reference: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise PluginError(f"plugin loader must look like 'package.module:Attribute', got {reference!r}")
    module = importlib.import_module(module_name)
    try:
        obj = module
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise PluginError(f"plugin loader {reference!r}: {module_name} has no attribute {attribute!r}") from None
    return obj


@dataclass(frozen=True)
class BackendInfo:
    """A backend a plugin provides.

    Attributes:
        name: Unique backend name (``"redis"``), matching the class's ``NAME``.
        url_schemes: URL schemes handled by the backend's ``from_url``.
        loader: ``"module:Class"`` of the backend class, imported on first use.
        description: One line for listings.
    """

    name: str
    url_schemes: tuple[str, ...]
    loader: str
    description: str = ""


@dataclass(frozen=True)
class StrategyInfo:
    """A strategy a plugin provides: ``loader`` names its class."""

    name: str
    loader: str
    description: str = ""


@dataclass(frozen=True)
class StrategyImplementationInfo:
    """A native implementation of strategy ``strategy`` for backend ``backend``.

    What ``loader`` points at is private to the backend (a Lua script source,
    a function); the plugin registry only stores and loads it.
    """

    backend: str
    strategy: str
    loader: str


@dataclass(frozen=True)
class IntegrationInfo:
    """A framework integration: ``loader`` names its entry object."""

    name: str
    framework: str
    loader: str
    description: str = ""


@dataclass(frozen=True)
class PluginInfo:
    """A plugin the registry has loaded.

    Attributes:
        name: Plugin name: the entry-point name (``"redis"``), ``"builtin"``
            for core's own components, or the name given to
            :meth:`~traffik.plugins.PluginRegistry.register`.
        distribution: The distribution that declared the entry point
            (``"traffik-redis"``); ``None`` for a plugin registered in code.
        version: That distribution's version, or ``None``.
    """

    name: str
    distribution: str | None
    version: str | None
