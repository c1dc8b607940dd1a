"""Turn an import of a plugin path whose distribution is missing into a helpful error.

The finder sits at the *end* of ``sys.meta_path``: an installed plugin is found
by the normal path finder first, so the finder only ever speaks for modules
that nothing else could find.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Final

__all__ = ["PLUGIN_PROVIDERS", "MissingPluginFinder", "install"]

PLUGIN_PROVIDERS: Final[dict[str, tuple[str, str]]] = {
    "traffik.backends.redis": ("traffik-redis", "redis"),
    "traffik.backends.memcached": ("traffik-memcached", "memcached"),
    "traffik.decorators": ("traffik-fastapi", "fastapi"),
    "traffik.prometheus": ("traffik-prometheus", "prometheus"),
    "traffik.opentelemetry": ("traffik-opentelemetry", "opentelemetry"),
}
"""Import path -> (distribution, extra of the ``traffik`` distribution)."""


class MissingPluginFinder(importlib.abc.MetaPathFinder):
    """Raises a ``ModuleNotFoundError`` naming the install command for known plugin paths."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        provider = PLUGIN_PROVIDERS.get(fullname)
        if provider is None:
            return None
        distribution, extra = provider
        raise ModuleNotFoundError(
            f"{fullname} is provided by {distribution}: pip install 'traffik[{extra}]'",
            name=fullname,
        )


def install() -> None:
    """Append the finder to ``sys.meta_path`` once."""
    if not any(isinstance(finder, MissingPluginFinder) for finder in sys.meta_path):
        sys.meta_path.append(MissingPluginFinder())
