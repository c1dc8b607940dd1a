"""Which backends a run measures, and the loopback servers they need.

``--backend`` names ``memory``, ``redis``, ``memcached`` or any backend a
plugin registers (``python -m traffik.plugins`` lists them). Redis and
Memcached are started on free loopback ports with
:class:`traffik.testing.RedisServer` / :class:`~traffik.testing.MemcachedServer`
unless ``--redis-url`` / ``--memcached`` point at running ones; another
plugin's backend needs ``--url``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from traffik.exceptions import ConfigurationError
from traffik.plugins import get_plugin_registry
from traffik.testing import MemcachedServer, RedisServer, ServerNotInstalledError, ServerProcess, stop_all

__all__ = ["Target", "parse_memcached", "provision"]

# The names users type, mapped to the registry's backend names.
_ALIASES = {"memory": "inmemory", "inmemory": "inmemory", "redis": "redis", "memcached": "memcached"}


@dataclass(frozen=True)
class Target:
    """One backend to measure.

    Attributes:
        name: What the tables call it (``memory``, ``redis``, ``memcached`` or a plugin's name).
        url: A URL :func:`traffik.plugins.backend_from_url` turns into the backend.
        redis_url: The Redis server, for the Redis-only scenarios.
        memcached: The memcached servers, for the Memcached-only scenarios.
    """

    name: str
    url: str
    redis_url: str | None = None
    memcached: tuple[tuple[str, int], ...] = ()

    @property
    def shared(self) -> bool:
        """Whether processes share the store (so contention across processes means something)."""
        return self.name != "memory"


def parse_memcached(value: str) -> tuple[tuple[str, int], ...]:
    """``"127.0.0.1:11211,127.0.0.1:11212"`` -> ``(("127.0.0.1", 11211), ("127.0.0.1", 11212))``.

    Raises:
        ConfigurationError: An address is not ``host:port`` with an integer port.
    """
    servers: list[tuple[str, int]] = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(f"--memcached must be host:port[,host:port...], got {value!r}")
        servers.append((host, int(port)))
    return tuple(servers)


def _start(server: ServerProcess, started: list[ServerProcess]) -> ServerProcess:
    server.start()
    started.append(server)
    return server


@contextlib.contextmanager
def provision(
    names: list[str],
    *,
    redis_url: str | None = None,
    memcached: tuple[tuple[str, int], ...] = (),
    url: str | None = None,
    skip_missing: bool = False,
) -> Iterator[tuple[list[Target], list[str]]]:
    """Resolve ``names`` into targets, starting the servers they need; stop those servers on exit.

    Args:
        names: Backend names from ``--backend``.
        redis_url: A running Redis to use instead of starting one.
        memcached: Running memcached servers to use instead of starting two.
        url: The URL of a plugin backend (any name other than the three built in here).
        skip_missing: Leave out (and report) a backend whose server is not
            installed instead of failing; used for the default backend list.

    Yields:
        The targets, and one note per backend that was left out.

    Raises:
        ConfigurationError: An unknown backend name, or a plugin backend without ``url``.
    """
    registered = get_plugin_registry().backends()
    targets: list[Target] = []
    notes: list[str] = []
    started: list[ServerProcess] = []
    try:
        for name in dict.fromkeys(names):  # drop repeats, keep order
            kind = _ALIASES.get(name, name)
            if kind not in registered:
                raise ConfigurationError(f"--backend: unknown backend {name!r}; registered: {sorted(registered)}")
            try:
                if kind == "inmemory":
                    targets.append(Target("memory", "memory://"))
                elif kind == "redis":
                    where = redis_url or _start(RedisServer(), started).url
                    targets.append(Target("redis", where, redis_url=where))
                elif kind == "memcached":
                    servers = memcached or tuple(_start(MemcachedServer(), started).address for _ in range(2))
                    location = ",".join(f"{host}:{port}" for host, port in servers)
                    targets.append(Target("memcached", f"memcached://{location}", memcached=servers))
                elif url is None:
                    raise ConfigurationError(f"--backend {name!r} needs --url (a URL its plugin understands)")
                else:
                    targets.append(Target(name, url))
            except ServerNotInstalledError as exc:
                if not skip_missing:
                    raise
                notes.append(f"{name}: skipped ({exc})")
        yield targets, notes
    finally:
        stop_all(started)
