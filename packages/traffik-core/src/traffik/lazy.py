"""Module attributes imported on first access (part of the public plugin API).

Plugin packages export classes whose modules import a client library
(redis-py, aiomcache, FastAPI); plugin discovery imports the package, so those
names must load lazily. A package sets ``__getattr__ = lazy_attributes(...)``.

This module imports nothing but the standard library, so a plugin package's
``__init__`` can use it without importing the plugin registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, namespace: dict[str, Any], attributes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``attributes`` (name -> defining module) on first access.

    The loaded value is stored in ``namespace`` (the module's ``globals()``),
    so later accesses are plain attribute lookups.

    Example:
        >>> namespace: dict[str, Any] = {}
        >>> getattr_ = lazy_attributes("demo", namespace, {"sqrt": "math"})
        >>> getattr_("sqrt")(9.0), "sqrt" in namespace
        (3.0, True)
    """

    def __getattr__(name: str) -> Any:
        module_name = attributes.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value
        return value

    return __getattr__
