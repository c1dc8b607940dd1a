"""``MemcachedBackend``: shared rate-limit state on one or more memcached servers."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl, unquote

from traffik.backends.base import BackendCapabilities, ErrorPolicy, NativeStrategies, ThrottleBackend
from traffik.backends.deny_cache import DenyCache
from traffik.backends.memcached._client import MemcachedClient
from traffik.backends.memcached._keys import generation_key, state_key
from traffik.backends.memcached._native import CAS_RUNNER, StrategyRunner
from traffik.backends.memcached._pipeline import PipelinedClient
from traffik.backends.memcached._ring import HashRing
from traffik.clock import Clock, monotonic_ms, wall_ms
from traffik.exceptions import BackendError, ConfigurationError, PluginError
from traffik.rates import Rate
from traffik.strategies import UNLIMITED_DECISION, Decision, ThrottleStrategy
from traffik.validation import boolean, instance_of, positive_number, whole_number

__all__ = ["MemcachedBackend"]

_logger = logging.getLogger("traffik.backends.memcached")

_DEFAULT_PORT: Final = 11211
# A generation is a random 62-bit number: a namespace recreated after its
# generation key was lost (restart, eviction) never reuses an old generation,
# so keys from before a clear() cannot come back; 62 bits leave incr headroom.
_GENERATION_BITS: Final = 62
_LOCATED_ENTRIES: Final = 4096
_SERVER_PATTERN: Final = re.compile(r"^(?:\[(?P<ipv6>[^\]]+)\]|(?P<host>[^:\[\]]+))(?::(?P<port>\d+))?$")


def _check_servers(servers: object) -> tuple[tuple[str, int], ...]:
    def invalid(reason: str) -> ConfigurationError:
        return ConfigurationError(f"MemcachedBackend: servers {reason}, got {servers!r}")

    if isinstance(servers, (str, bytes)) or not isinstance(servers, Sequence) or not servers:
        raise invalid("must be a non-empty list of (host, port) tuples")
    checked: list[tuple[str, int]] = []
    for server in servers:
        if not isinstance(server, (tuple, list)) or len(server) != 2:
            raise invalid(f"must hold (host, port) tuples; {server!r} is not one")
        host, port = server
        if not isinstance(host, str) or not host or any(ch.isspace() for ch in host):
            raise invalid(f"hosts must be non-empty strings; {host!r} is not")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise invalid(f"ports must be integers in 1..65535; {port!r} is not")
        if (host, port) in checked:
            raise invalid(f"lists {host}:{port} twice")
        checked.append((host, port))
    return tuple(checked)


_OWNER: Final = "MemcachedBackend"
_SECONDS: Final = positive_number(unit="seconds")
_POSITIVE_INT: Final = whole_number(min=1).described("a positive integer")
_RETRIES: Final = whole_number(min=0).described("an integer >= 0")


class MemcachedBackend(ThrottleBackend):
    """Rate-limit state shared by every app instance, on memcached servers.

    Keys are spread over ``servers`` by consistent hashing, so adding a
    server moves only a share of them. Any identifier is accepted: keys that
    memcached cannot store as they are (longer than 250 bytes, spaces, control
    or non-ASCII characters) are replaced by a BLAKE2b digest, deterministically.

    **Atomicity.** ``FixedWindow`` runs natively (one ``incr`` on the window's
    counter; an ``add`` starts a window). Every other strategy runs its pure
    step in a bounded ``gets``/``cas`` loop; when ``max_retries`` races are
    lost the hit fails with :class:`~traffik.exceptions.StateContentionError`
    and the throttle's ``on_error`` decides.

    **Time.** Windows and buckets follow ``clock``, the app's wall clock by
    default, so app instances on different hosts must keep their clocks in
    sync (NTP). Memcached only sees TTLs, in whole seconds, rounded up.

    **Clearing.** Memcached cannot list keys, and ``flush_all`` would wipe
    other applications' data. Instead every key embeds the namespace's
    *generation*, a number stored under one key per namespace: :meth:`clear`
    increments it, which orphans every key at once (they expire on their own
    TTL). This instance switches at once; other instances keep their cached
    generation until they re-read it, at most ``generation_refresh`` seconds
    later, and keep counting in the old generation until then.
    ``persistent=False`` (the default) clears at shutdown, which resets the
    limits of *every* instance sharing the namespace: use ``persistent=True``
    for a fleet.

    **Failure.** Every command has a timeout (``timeout`` once connected,
    ``connect_timeout`` to connect), so a dead or frozen server hands control
    back within about a second as a
    :class:`~traffik.exceptions.BackendConnectionError` or
    :class:`~traffik.exceptions.BackendTimeoutError`. Waiting is not failing:
    a hit queued behind its key's other hits, or (``auto_pipeline=False``)
    waiting for one of the ``pool_size`` connections, waits as long as the queue takes to move, and
    only the server's own silence ends the wait early (with the same error).
    So the throttle puts no timer of its own around a hit (``call_timeout`` is
    ``None``): it would count a long queue as an outage. Memcached keeps nothing
    on disk: a restarted server comes back empty, so the counters it held
    start again from zero (clients get a fresh quota for the current window)
    and its namespace generations are re-created from this instance's cached
    value. A server that is down affects only the keys it owns.

    **Connections.** By default (``auto_pipeline=True``) concurrent hits share
    one connection per server: the commands ready in the same event-loop turn
    leave as one write and the replies are handed back in order
    (:mod:`traffik.backends.memcached._pipeline`). A reply that does not come
    within ``timeout`` fails every command waiting on that connection, which
    is dropped and reopened by the next command; nothing is sent twice. With
    ``auto_pipeline=False`` each command in flight holds one of ``pool_size``
    pooled connections (aiomcache's pool) for its round trip.

    Args:
        servers: ``(host, port)`` tuples, at least one.
        namespace: Isolates this backend's keys from other backends on the same servers.
        persistent: Keep the data when the lifespan ends (default: clear the namespace).
        on_error: Default failure policy of throttles using this backend.
        identifier: Default identifier for throttles that set none.
        handle_throttled: Default throttled handler for throttles that set none.
        timeout: Seconds a command may take once connected.
        connect_timeout: Seconds to connect.
        pool_size: Most connections per server (``auto_pipeline=False`` only).
        max_retries: Lost ``cas`` races a hit may retry before it fails.
        virtual_nodes: Points per server on the hash ring.
        generation_refresh: Seconds between re-reads of the namespace generation
            (how soon a ``clear()`` by another instance is seen); ``None`` reads
            it only at start-up and after this instance's own ``clear()``.
        clock: Milliseconds clock; wall clock by default so instances agree.
        deny_cache: Deny a key's hits in this process while Memcached's last denial of it
            holds, without a round trip (:mod:`traffik.backends.deny_cache`): ``True``,
            a :class:`~traffik.backends.deny_cache.DenyCache`, or ``None`` (off).
        auto_pipeline: Pipeline concurrent hits on one connection per server (see
            **Connections**); ``False`` gives each command in flight a pooled connection.

    Raises:
        ConfigurationError: Any invalid parameter, named with its value.

    Example:
        >>> backend = MemcachedBackend([("127.0.0.1", 11211)], namespace="api")
        >>> backend.servers
        (('127.0.0.1', 11211),)
    """

    NAME: ClassVar[str] = "memcached"
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ("memcached",)
    CAPABILITIES: ClassVar[BackendCapabilities] = BackendCapabilities(native_strategies=True)
    shared_store: ClassVar[bool] = True
    call_timeout: float | None = None
    """No throttle-side timer: each step of a hit is bounded here, and waiting is contention (see **Failure**)."""

    def __init__(
        self,
        servers: Sequence[tuple[str, int]],
        namespace: str = "memcached",
        persistent: bool = False,
        on_error: ErrorPolicy = "throttle",
        identifier: Callable[..., Any] | None = None,
        handle_throttled: Callable[..., Any] | None = None,
        *,
        timeout: float = 0.5,
        connect_timeout: float = 0.5,
        pool_size: int = 8,
        max_retries: int = 64,
        virtual_nodes: int = 160,
        generation_refresh: float | None = 5.0,
        clock: Clock = wall_ms,
        deny_cache: DenyCache | bool | None = None,
        auto_pipeline: bool = True,
    ) -> None:
        super().__init__(
            namespace,
            persistent=persistent,
            on_error=on_error,
            identifier=identifier,
            handle_throttled=handle_throttled,
            clock=clock,
            deny_cache=deny_cache,
        )
        self.servers: tuple[tuple[str, int], ...] = _check_servers(servers)
        self.timeout: float = _SECONDS(_OWNER, "timeout", timeout)
        self.connect_timeout: float = _SECONDS(_OWNER, "connect_timeout", connect_timeout)
        self.pool_size: int = _POSITIVE_INT(_OWNER, "pool_size", pool_size)
        self.max_retries: int = _RETRIES(_OWNER, "max_retries", max_retries)
        self.virtual_nodes: int = _POSITIVE_INT(_OWNER, "virtual_nodes", virtual_nodes)
        self.generation_refresh: float | None = (
            None if generation_refresh is None else _SECONDS(_OWNER, "generation_refresh", generation_refresh)
        )
        self.auto_pipeline: bool = boolean(_OWNER, "auto_pipeline", auto_pipeline)
        client_class = PipelinedClient if self.auto_pipeline else MemcachedClient
        self._clients = [
            client_class(
                host, port, pool_size=self.pool_size, timeout=self.timeout, connect_timeout=self.connect_timeout
            )
            for host, port in self.servers
        ]
        self._ring = HashRing([(client.address, client) for client in self._clients], self.virtual_nodes)
        self._generation_key = generation_key(namespace).encode("ascii")
        self._generation: int | None = None
        self._generation_due = 0.0
        # Escaping a key and hashing it onto the ring cost more than a hit's own work on a
        # pipelined connection: the last few thousand keys are remembered, per generation.
        self._located: dict[tuple[str, ...], tuple[MemcachedClient, bytes]] = {}
        self._located_generation: int | None = None
        self._runners: dict[type[ThrottleStrategy], StrategyRunner] = {}
        self._native: NativeStrategies[StrategyRunner] = NativeStrategies(self.NAME)

    # -- the hit path -----------------------------------------------------

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """Apply one hit of ``cost`` to ``key`` atomically (native ``incr`` or a ``cas`` loop)."""
        if rate.unlimited:
            return UNLIMITED_DECISION
        return await self._runner(strategy).hit(self, key, strategy, rate, cost)

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """The decision a hit of ``cost`` would get now (one ``get``), consuming nothing."""
        if rate.unlimited:
            return UNLIMITED_DECISION
        return await self._runner(strategy).peek(self, key, strategy, rate, cost)

    async def locate(self, *parts: str) -> tuple[MemcachedClient, bytes]:
        """The server and memcached key of the state named by ``parts`` (for strategy runners)."""
        generation = await self._current_generation()
        located = self._located
        if self._located_generation != generation:
            located.clear()
            self._located_generation = generation
        found = located.get(parts)
        if found is None:
            if len(located) >= _LOCATED_ENTRIES:
                located.clear()  # windows roll over and clients come and go: start again
            key = state_key(self.namespace, generation, *parts).encode("ascii")
            found = located[parts] = (self._ring.node_for(key), key)
        return found

    def _runner(self, strategy: ThrottleStrategy) -> StrategyRunner:
        kind = type(strategy)
        runner = self._runners.get(kind)
        if runner is None:
            runner = self._native_runner(strategy) or CAS_RUNNER
            self._runners[kind] = runner
        return runner

    def _native_runner(self, strategy: ThrottleStrategy) -> StrategyRunner | None:
        try:
            # The exact class only (runs_natively): a subclass may change the algorithm and keep NAME.
            return self._native.find(strategy)
        except PluginError:
            # The CAS loop is exact for every strategy: a broken plugin costs speed, not correctness.
            _logger.exception("memcached: cannot load the native %s implementation; using gets/cas", strategy.NAME)
            return None

    # -- the namespace generation -------------------------------------------

    async def _current_generation(self) -> int:
        generation = self._generation
        if generation is None:
            return await self._load_generation()
        if self.generation_refresh is not None and monotonic_ms() >= self._generation_due:
            # Push the due time first so concurrent hits do not all re-read it.
            self._generation_due = monotonic_ms() + self.generation_refresh * 1000.0
            try:
                return await self._load_generation()
            except BackendError:
                return generation  # keep limiting with the cached generation
        return generation

    def _remember(self, generation: int) -> int:
        self._generation = generation
        if self.generation_refresh is not None:
            self._generation_due = monotonic_ms() + self.generation_refresh * 1000.0
        return generation

    async def _load_generation(self) -> int:
        client, key = self._ring.node_for(self._generation_key), self._generation_key
        raw = await client.get(key)
        if raw is None:
            # First use, or memcached lost it (restart, eviction): recreate it,
            # keeping the generation this instance was using if it had one.
            candidate = self._generation if self._generation is not None else secrets.randbits(_GENERATION_BITS)
            # The generation key never expires: it must outlive every state key.
            if not await client.add(key, b"%d" % candidate, 0):
                raw = await client.get(key)
            if raw is None:
                return self._remember(candidate)
        return self._remember(int(raw))

    async def clear(self) -> None:
        """Invalidate every key of this namespace at once by bumping its generation.

        Other instances see the new generation within ``generation_refresh``
        seconds. Data of other namespaces and applications is untouched.
        """
        client, key = self._ring.node_for(self._generation_key), self._generation_key
        generation = await client.incr(key, 1)
        if generation is None:
            current = self._generation if self._generation is not None else secrets.randbits(_GENERATION_BITS)
            generation = current + 1
            if not await client.add(key, b"%d" % generation, 0):
                generation = await client.incr(key, 1)
                if generation is None:
                    raise BackendError(f"memcached {client.address}: the namespace generation keeps vanishing")
        self._remember(generation)

    # -- lifecycle --------------------------------------------------------

    async def initialize(self) -> None:
        """Read the namespace generation; if memcached is unreachable, leave it to the first hit.

        A memcached outage at start-up must not stop the application: hits
        then fail through ``on_error`` until the servers answer.
        """
        try:
            await self._load_generation()
        except BackendError as exc:
            _logger.warning(
                "memcached: cannot read the namespace generation at start-up: %s; starting anyway: "
                "hits follow on_error until the servers answer",
                exc,
            )
        else:
            node = self._ring.node_for(self._generation_key)
            _logger.info("MemcachedBackend(namespace=%r): memcached at %s is reachable", self.namespace, node.address)

    async def close(self) -> None:
        """Close every connection."""
        for client in self._clients:
            await client.close()

    # -- construction from a URL ------------------------------------------

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemcachedBackend:
        """Build from ``memcached://host:port[,host:port...]`` (port 11211 by default).

        Query parameters ``namespace`` and ``persistent`` (``true``/``false``)
        are accepted; other keyword arguments go to the constructor.

        Raises:
            ConfigurationError: Another scheme, no or malformed servers, a path,
                or an unknown or repeated query parameter.

        Example:
            >>> MemcachedBackend.from_url("memcached://10.0.0.1:11211,10.0.0.2?namespace=api").servers
            (('10.0.0.1', 11211), ('10.0.0.2', 11211))
        """
        url = instance_of(str, description="a string")("MemcachedBackend.from_url", "url", url)
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in cls.URL_SCHEMES:
            raise ConfigurationError(f"MemcachedBackend.from_url: expected 'memcached://host:port', got {url!r}")
        rest, _, fragment = rest.partition("#")
        location, _, query = rest.partition("?")
        if location.endswith("/"):
            location = location[:-1]
        if fragment or "/" in location or "@" in location:
            raise ConfigurationError(
                f"MemcachedBackend.from_url: expected 'memcached://host:port[,host:port]', got {url!r}"
            )
        servers: list[tuple[str, int]] = []
        for item in location.split(","):
            match = _SERVER_PATTERN.match(unquote(item.strip()))
            if match is None:
                raise ConfigurationError(f"MemcachedBackend.from_url: bad server {item!r} in {url!r}")
            port = int(match["port"]) if match["port"] else _DEFAULT_PORT
            servers.append((match["ipv6"] or match["host"], port))
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise ConfigurationError(f"MemcachedBackend.from_url: malformed query in {url!r}") from None
        for name, value in pairs:
            if name not in ("namespace", "persistent"):
                raise ConfigurationError(
                    f"MemcachedBackend.from_url: unknown query parameter {name!r} in {url!r} "
                    "(only 'namespace' and 'persistent')"
                )
            if name in options:
                raise ConfigurationError(f"MemcachedBackend.from_url: {name} given twice (in {url!r} and as argument)")
            if name == "persistent":
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ConfigurationError(
                        f"MemcachedBackend.from_url: persistent must be true or false, got {value!r} in {url!r}"
                    )
                options[name] = value.lower() in ("true", "1")
            else:
                options[name] = value
        return cls(servers, **options)

    def __repr__(self) -> str:
        servers = ",".join(f"{host}:{port}" for host, port in self.servers)
        return f"MemcachedBackend(servers={servers!r}, namespace={self.namespace!r}, persistent={self.persistent!r})"
