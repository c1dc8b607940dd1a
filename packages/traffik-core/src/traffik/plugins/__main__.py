"""``python -m traffik.plugins``: list the discovered plugins and what they register."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from traffik.exceptions import PluginError
from traffik.plugins._registry import PluginRegistry

__all__ = ["main", "render"]


def render(registry: PluginRegistry) -> str:
    """A plain-text report of ``registry``: plugins, backends, strategies, integrations, discovery time.

    Raises:
        PluginError: Discovery failed.
    """
    registry.discover()
    lines = ["Plugins:"]
    for plugin in registry.plugins():
        origin = f"{plugin.distribution} {plugin.version}" if plugin.distribution else "registered in code"
        lines.append(f"  {plugin.name:<24} {origin}")
    lines.append("Backends:")
    for name, backend in sorted(registry.backends().items()):
        schemes = ", ".join(f"{scheme}://" for scheme in backend.url_schemes) or "no URL scheme"
        lines.append(f"  {name:<24} {schemes:<32} {backend.loader}")
    lines.append("Strategies:")
    for name, strategy in sorted(registry.strategies().items()):
        lines.append(f"  {name:<24} {strategy.loader}")
    lines.append("Integrations:")
    integrations = registry.integrations()
    if not integrations:
        lines.append("  (none)")
    for name, integration in sorted(integrations.items()):
        lines.append(f"  {name:<24} {integration.framework:<16} {integration.loader}")
    lines.append(f"Discovery took {registry.discovery_ms:.1f} ms")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report of the shared registry; exit status 1 if a plugin is broken."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        print("usage: python -m traffik.plugins", file=sys.stderr)
        return 2
    from traffik.plugins._default import get_plugin_registry

    try:
        print(render(get_plugin_registry()))
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
