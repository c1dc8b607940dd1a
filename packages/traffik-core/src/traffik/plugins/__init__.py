"""Plugins: how backends, strategies and integrations are discovered.

A plugin is a distribution that declares ``[project.entry-points.traffik]``
and implements hooks from :mod:`traffik.hookspecs` with :data:`hookimpl`. The
:class:`PluginRegistry` finds them on first use, validates what they register
and hands out typed results; :func:`backend_from_url` builds a backend from
whichever plugin handles a URL scheme.

Importing this package discovers nothing; run ``python -m traffik.plugins`` to
list what is installed.

Example:
    >>> from traffik.plugins import get_plugin_registry
    >>> get_plugin_registry().backends()["inmemory"].url_schemes
    ('memory', 'inmemory')
"""

from traffik.hookspecs import hookimpl
from traffik.plugins._default import backend_from_url, get_plugin_registry
from traffik.plugins._info import BackendInfo, IntegrationInfo, PluginInfo, StrategyImplementationInfo, StrategyInfo
from traffik.plugins._registry import BUILTIN_PLUGIN_NAME, PluginRegistry

__all__ = [
    "BUILTIN_PLUGIN_NAME",
    "BackendInfo",
    "IntegrationInfo",
    "PluginInfo",
    "PluginRegistry",
    "StrategyImplementationInfo",
    "StrategyInfo",
    "backend_from_url",
    "get_plugin_registry",
    "hookimpl",
]
