"""Reading one ``host[:port]`` entry of a URL that lists several hosts (cluster seeds, Sentinels)."""

from __future__ import annotations

__all__ = ["parse_host_port"]


def parse_host_port(entry: str, default_port: int) -> tuple[str, int] | None:
    """``host``, ``host:port``, ``[ipv6]`` or ``[ipv6]:port`` as ``(host, port)``; ``None`` if it is none of them.

    Example:
        >>> parse_host_port("[::1]:7001", 6379), parse_host_port("cache", 6379), parse_host_port("a:b", 6379)
        (('::1', 7001), ('cache', 6379), None)
    """
    entry = entry.strip()
    host, port = entry, str(default_port)
    if entry.startswith("["):  # [IPv6]:port
        host, _, rest = entry[1:].partition("]")
        if rest:
            port = rest.removeprefix(":")
    elif ":" in entry:
        host, port = entry.rsplit(":", 1)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)
