"""The Redis backend: one Lua script per strategy, one round trip per hit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Final, cast

from traffik.backends.base import (
    BackendCapabilities,
    ErrorPolicy,
    NativeStrategies,
    ThrottleBackend,
)
from traffik.backends.deny_cache import DenyCache
from traffik.backends.redis._clearing import clear_namespace
from traffik.backends.redis._client_lifecycle import ClientLifecycle, RedisClient
from traffik.backends.redis._cluster import run_once
from traffik.backends.redis._commands import ScriptCall, decision_from_reply
from traffik.backends.redis._counters import count, read_count, uncount
from traffik.backends.redis._errors import translate_errors
from traffik.backends.redis._fixed_window import CounterCall, FixedWindowCounter, counted_decision
from traffik.backends.redis._generic_path import NoScript, locked_decision
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._libraries import ValkeyClient
from traffik.backends.redis._lock import RedisLock
from traffik.backends.redis._scripts import LuaScript, format_number
from traffik.backends.redis._startup import check_server, registered_scripts
from traffik.backends.redis._urls import URL_SCHEMES, redact, where
from traffik.clock import Clock, wall_ms
from traffik.exceptions import BackendError, PluginError
from traffik.rates import Rate
from traffik.strategies import UNLIMITED_DECISION, Decision, ThrottleStrategy
from traffik.validation import boolean, optional, positive_number, whole_number

from redis.asyncio import RedisCluster

__all__ = ["DEFAULT_CLOCK_MARGIN_MS", "DEFAULT_MAX_CONNECTIONS", "DEFAULT_TIMEOUT", "RedisBackend"]

DEFAULT_TIMEOUT: Final = 0.5
"""Default connect and command timeout in seconds: a dead or hung Redis hands control back fast."""
DEFAULT_CLOCK_MARGIN_MS: Final = 1000
"""Default extra lifetime of keys, in ms, when a client clock decides (``clock`` given, or FixedWindow)."""
DEFAULT_MAX_CONNECTIONS: Final = 50
"""Default number of connections kept for hits, hence of hits in flight at once."""

_logger = logging.getLogger("traffik.backends.redis")
_MAX_STRATEGIES: Final = 1024  # strategy objects remembered; an app has a handful, a leak would have many

_OWNER: Final = "RedisBackend"
_TIMEOUT: Final = optional(positive_number(unit="seconds"))
_CLOCK_MARGIN: Final = whole_number(min=0).described("a whole number of milliseconds >= 0")


class RedisBackend(ClientLifecycle, ThrottleBackend):
    """Shares counters between every process that uses the same Redis and namespace.

    Every built-in strategy but ``FixedWindow`` runs as a Lua script (loaded
    once, run with ``EVALSHA``, reloaded transparently after ``NOSCRIPT``) that
    reads the state, decides, writes the new state and returns the decision: a
    hit or a peek is exactly **one round trip**, atomic under any concurrency.
    ``FixedWindow`` is a plain counter per window, no script: ``SET NX`` +
    ``INCRBY`` in one round trip (a quarter of a script's Redis time), see
    :mod:`traffik.backends.redis._fixed_window`. A strategy without a native
    implementation (a third-party one) falls back to a slower, still atomic
    path: a Redis lock around ``GET``, the pure step and ``SET``.

    **Time.** By default the scripts read the Redis server's ``TIME``, so app
    instances whose clocks disagree still share one timeline. Pass ``clock=``
    to use that clock instead (its value is sent with each call; tests use a
    :class:`~traffik.clock.ManualClock`). With a clock, each key lives
    ``clock_margin_ms`` longer than its state, so an instance whose clock lags
    the one that wrote the state by up to that margin still finds it.
    ``FixedWindow`` and the fallback path always read ``clock`` (wall-clock ms
    by default; no command can read ``TIME`` and count): window boundaries
    follow each instance's clock, a window's count never passes the limit,
    and its key lives ``clock_margin_ms`` past the window's end.

    **Keys** are ``<namespace>:{<key>}:<strategy>`` (see
    :mod:`traffik.backends.redis._keys`): the braces are a Redis Cluster hash
    tag, namespaces never overlap, and every key has a TTL in milliseconds, at
    least 1, rounded up, so state never outlives nor predeceases its use.

    **Lifecycle.** The connection pool is created from ``url`` at
    :meth:`initialize` (or on first use) and closed by :meth:`close`. A client
    passed as ``url`` belongs to the application: it is used with its own
    options and never closed; its own timeouts apply, and ``socket_timeout``
    still bounds each hit on it (connecting included) where they do not.
    Hits bypass redis-py's per-command pool checkout: by default they are
    auto-pipelined on one connection kept out of the pool (one per node of a
    cluster; see :mod:`traffik.backends.redis._pipelining`); with
    ``auto_pipeline=False``, up to ``max_connections`` connections are kept, one
    per hit in flight (see :mod:`traffik.backends.redis._connections`), and more
    concurrent hits queue for a free one rather than fail with "Too many
    connections". Either way they go back to the pool at :meth:`close`. With
    ``persistent=False`` (the default) the end of the lifespan deletes this
    namespace's keys, on every primary of a cluster, with ``SCAN`` + ``UNLINK``
    (never ``FLUSHDB``); since other app instances share those keys, set
    ``persistent=True`` for shared deployments.

    **Failures.** Connect and command timeouts default to
    :data:`DEFAULT_TIMEOUT` and commands are not retried (a hit is not
    idempotent), so a dead or hung Redis returns control within about a
    second, as :class:`~traffik.exceptions.BackendTimeoutError` or
    :class:`~traffik.exceptions.BackendConnectionError`, for ``on_error`` to handle.

    Args:
        url: ``redis://host:port/db``, ``rediss://...?ssl_ca_certs=...``, ``unix:///path.sock``,
            ``redis+cluster://host:port[,host:port...]``, ``redis+sentinel://...`` (see
            :mod:`traffik.backends.redis._urls`), or an existing ``redis.asyncio.Redis`` /
            ``RedisCluster`` / Sentinel ``master_for`` client, or valkey-py's ``Valkey`` /
            ``ValkeyCluster`` (see :mod:`traffik.backends.redis._libraries`).
        namespace: Prefix that isolates this backend's keys.
        persistent: Keep the data when the lifespan ends (default: delete it).
        on_error: Default failure policy for throttles using this backend.
        identifier: Default identifier for throttles that set none.
        handle_throttled: Default throttled handler for throttles that set none.
        lock_blocking: Override of ``TRAFFIK_DEFAULT_BLOCKING`` for :meth:`lock`.
        lock_ttl: Override of ``TRAFFIK_DEFAULT_LOCK_TTL`` (seconds).
        lock_blocking_timeout: Override of ``TRAFFIK_DEFAULT_BLOCKING_TIMEOUT`` (seconds).
        clock: Milliseconds clock sent to the scripts instead of the server's ``TIME`` (FixedWindow's windows
            always follow it; default: wall-clock ms).
        cluster: Connect to a ``redis://`` or ``rediss://`` ``url`` as a Redis Cluster
            (``redis+cluster://`` urls always are).
        socket_timeout: Seconds a command may take (``None``: no limit).
        connect_timeout: Seconds connecting may take (``None``: no limit).
        clock_margin_ms: Extra key lifetime in ms whenever a client clock decides (``clock``
            given, FixedWindow, or the fallback path); a whole number >= 0.
        max_connections: Connections kept for hits, hence hits in flight at once (never more
            than half of a given client's pool); more concurrent hits wait for one for as long
            as Redis keeps answering: waiting is not a failure, a hit that fails with no reply
            from Redis since it began is, and the waiting ones then fail with it. A whole
            number >= 1.
        require_startup_connection: Fail :meth:`initialize` (the lifespan's start-up) when
            Redis cannot be reached; ``False`` logs a warning and starts anyway, and hits
            follow ``on_error`` until Redis answers. Rejected credentials or TLS fail either way.
        deny_cache: Deny a key's hits in this process while Redis's last denial of it holds,
            without a round trip (:mod:`traffik.backends.deny_cache`): ``True``, a
            :class:`~traffik.backends.deny_cache.DenyCache`, or ``None`` (off).
        auto_pipeline: Send concurrent hits pipelined on a few connections (commands ready in
            the same event-loop turn leave as one write; replies come back in order), see
            :mod:`traffik.backends.redis._pipelining`; one of the ``max_connections`` then
            carries every hit (one per node of a cluster). ``False`` gives each hit in flight a
            connection of its own. Not used where the client configures a ``health_check_interval``.

    Raises:
        ConfigurationError: A parameter is invalid; the message names it and its value.

    Example:
        >>> backend = RedisBackend("redis://localhost:6379/0", namespace="api", persistent=True)
        >>> backend.NAME, backend.namespace
        ('redis', 'api')
    """

    NAME: ClassVar[str] = "redis"
    URL_SCHEMES: ClassVar[tuple[str, ...]] = URL_SCHEMES
    CAPABILITIES: ClassVar[BackendCapabilities] = BackendCapabilities(native_strategies=True, shared_locks=True)
    shared_store: ClassVar[bool] = True

    def __init__(
        self,
        url: str | RedisClient | ValkeyClient,
        namespace: str = "redis",
        persistent: bool = False,
        on_error: ErrorPolicy = "throttle",
        identifier: Callable[..., Any] | None = None,
        handle_throttled: Callable[..., Any] | None = None,
        lock_blocking: bool | None = None,
        lock_ttl: float | None = None,
        lock_blocking_timeout: float | None = None,
        *,
        clock: Clock | None = None,
        cluster: bool = False,
        socket_timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_TIMEOUT,
        clock_margin_ms: int = DEFAULT_CLOCK_MARGIN_MS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        require_startup_connection: bool = True,
        deny_cache: DenyCache | bool | None = None,
        auto_pipeline: bool = True,
    ) -> None:
        super().__init__(
            namespace,
            persistent=persistent,
            on_error=on_error,
            identifier=identifier,
            handle_throttled=handle_throttled,
            lock_blocking=lock_blocking,
            lock_ttl=lock_ttl,
            lock_blocking_timeout=lock_blocking_timeout,
            clock=clock,
            deny_cache=deny_cache,
        )
        boolean(_OWNER, "cluster", cluster)
        self.socket_timeout = _TIMEOUT(_OWNER, "socket_timeout", socket_timeout)
        self.connect_timeout = _TIMEOUT(_OWNER, "connect_timeout", connect_timeout)
        self.clock_margin_ms = _CLOCK_MARGIN(_OWNER, "clock_margin_ms", clock_margin_ms)
        self.max_connections = whole_number(min=1)(_OWNER, "max_connections", max_connections)
        self.require_startup_connection = boolean(_OWNER, "require_startup_connection", require_startup_connection)
        self.auto_pipeline = boolean(_OWNER, "auto_pipeline", auto_pipeline)
        self._adopt(url, cluster)  # the client, or the URL to build it from (see _client_lifecycle)
        # Scripts read the server's TIME unless a clock was given; the lock-based
        # fallback needs a clock shared by every instance, hence wall time.
        self._server_time = clock is None
        if clock is None:
            self.clock = wall_ms
        self._margin = "0" if clock is None else str(clock_margin_ms)
        self._keys = KeyLayout(namespace)
        self._native: NativeStrategies[LuaScript | FixedWindowCounter] = NativeStrategies(self.NAME)
        self._calls: dict[int, ScriptCall | CounterCall | NoScript] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisBackend:
        """``RedisBackend(url, **options)``; used by :func:`traffik.backends.backend_from_url`.

        Example:
            >>> RedisBackend.from_url("redis://localhost:6379/0", namespace="api").namespace
            'api'
        """
        return cls(url, **options)

    # -- the hit path -----------------------------------------------------

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """Apply one hit of ``cost`` to ``key`` in one round trip and return the decision.

        Raises:
            ValueError: ``cost`` is negative.
            BackendError: Redis failed or timed out (a subclass says which).
        """
        return await self._run(key, strategy, rate, cost, commit=True)

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """The decision a hit of ``cost`` would get now, in one round trip, consuming nothing.

        Raises:
            ValueError: ``cost`` is negative.
            BackendError: Redis failed or timed out (a subclass says which).
        """
        return await self._run(key, strategy, rate, cost, commit=False)

    async def _run(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, *, commit: bool) -> Decision:
        if rate.unlimited:
            return UNLIMITED_DECISION
        if cost < 0:
            raise ValueError(f"cost must be >= 0, got {cost!r}")
        call = self._calls.get(id(strategy))
        if call is None:
            call = self._call_for(strategy)
        if call.script is None:
            if isinstance(call, CounterCall):  # FixedWindow: SET NX + INCRBY, no script
                return await counted_decision(self, key, strategy, rate, cost, commit=commit)
            return await locked_decision(self, key, strategy, rate, cost, commit=commit)
        client = self._client_here()
        kept = self._kept
        now = "" if self._server_time else format_number(self.clock())
        state_key = self._keys.state_key(key, call.state_name)
        try:
            if kept is not None:
                reply = await kept.call(call.pack(kept.encode(state_key), now.encode(), cost, rate, commit))
            elif self.cluster:  # never retried: a timed-out script may have run
                argv = call.argv(now, cost, rate, commit)
                args = ("EVALSHA", call.script.sha, 1, state_key, *argv)
                pipelined = self._nodes
                if pipelined is not None:
                    packed = call.pack(pipelined.encode(state_key), now.encode(), cost, rate, commit)
                    reply = await pipelined.call(state_key, packed, *args)
                else:
                    reply = await run_once(cast(RedisCluster, client), state_key, *args)
            else:
                reply = await client.evalsha(call.script.sha, 1, state_key, *call.argv(now, cost, rate, commit))
        except self._library.errors.no_script:  # evaluated only when something was raised
            # Not cached on that server (restart, SCRIPT FLUSH, new cluster node):
            # EVAL runs it and caches it in the same round trip.
            with translate_errors(f"{strategy.NAME} on key '{key}'"):
                if kept is not None:
                    reply = await kept.call(call.pack_source(kept.encode(state_key), now, cost, rate, commit))
                elif self.cluster:
                    argv = call.argv(now, cost, rate, commit)
                    nodes = cast(RedisCluster, client)
                    reply = await run_once(nodes, state_key, "EVAL", call.script.source, 1, state_key, *argv)
                else:
                    reply = await client.eval(call.script.source, 1, state_key, *call.argv(now, cost, rate, commit))
        except Exception as exc:
            # Translated here rather than by a context manager around the call: this is the hot path.
            with translate_errors(f"{strategy.NAME} on key '{key}'"):
                raise exc
        return decision_from_reply(reply)

    # -- plain counters (FixedWindow): the routes of a script hit (see _counters) --

    async def _count(self, key: str, cost: int, ttl_ms: int) -> int:
        """``SET key 0 PX ttl_ms NX`` then ``INCRBY key cost`` in one round trip: the count after (``INCRBY``'s reply).

        Raises the client library's exceptions untranslated (the caller translates).
        """
        return await count(self, key, cost, ttl_ms)

    async def _read_count(self, key: str) -> bytes | str | None:
        """``GET key`` in one round trip (untranslated exceptions; ``str`` if the client decodes replies)."""
        return await read_count(self, key)

    async def _uncount(self, key: str, cost: int, ttl_ms: int) -> None:
        """``SET key 0 PX ttl_ms NX`` then ``DECRBY key cost`` in one round trip (untranslated exceptions)."""
        await uncount(self, key, cost, ttl_ms)

    def _call_for(self, strategy: ThrottleStrategy) -> ScriptCall | CounterCall | NoScript:
        """How to run ``strategy``, worked out once per strategy object.

        Keyed by ``id``: the entry holds the strategy itself, so the id cannot be
        reused by another object while the entry is cached.
        """
        script = self._script_for(strategy)
        call: ScriptCall | CounterCall | NoScript = NoScript(strategy) if script is None else CounterCall(strategy)
        if isinstance(script, LuaScript):
            call = ScriptCall(strategy, script, self._margin)
        if len(self._calls) >= _MAX_STRATEGIES:
            self._calls.clear()
        self._calls[id(strategy)] = call
        return call

    def _script_for(self, strategy: ThrottleStrategy) -> LuaScript | FixedWindowCounter | None:
        # The exact class only (runs_natively): a subclass may override step() and keep
        # NAME, and its parent's script would enforce the parent's algorithm.
        found = self._native.find(strategy)
        if found is not None and not isinstance(found, (LuaScript, FixedWindowCounter)):
            raise PluginError(f"redis: {strategy.NAME!r} must be a LuaScript or FixedWindowCounter, got {found!r}")
        return found

    # -- locks, clearing, lifecycle -----------------------------------------

    def lock(self, name: str) -> RedisLock:
        """A lock named ``name`` in Redis, shared by every process on this namespace.

        Honours ``lock_blocking``, ``lock_ttl`` and ``lock_blocking_timeout``,
        each falling back to :mod:`traffik.config` when ``None``.
        """
        return RedisLock(
            self._client_here(),
            self._keys.lock_key(name),
            blocking=self.lock_blocking,
            ttl=self.lock_ttl,
            blocking_timeout=self.lock_blocking_timeout,
        )

    async def clear(self) -> None:
        """Delete every key of this namespace (``SCAN`` + ``UNLINK``, on every primary of a cluster).

        Keys of other namespaces and of other applications are never touched.
        """
        client = self._client_here()
        with translate_errors(f"clearing namespace {self.namespace!r}"):
            await clear_namespace(client, self._keys.scan_pattern, cluster=self.cluster)

    async def initialize(self) -> None:
        """Check at start-up that Redis answers, and load every strategy's script.

        Pings the server (every primary of a cluster) and runs ``SCRIPT LOAD``
        for each registered Lua script, so a wrong URL, password or TLS setting
        fails here, with a message naming the host (never the password), rather
        than as throttled requests later.

        Raises:
            ConfigurationError: Redis refused the credentials or the TLS handshake
                (raised whatever ``require_startup_connection`` says).
            BackendConnectionError: Redis cannot be reached and
                ``require_startup_connection`` is ``True`` (else a warning is logged).
            BackendTimeoutError: Redis did not answer in time (same rule).
        """
        client = self._client_here()
        server = where(self._url) if self._url is not None else type(client).__name__
        try:
            await check_server(client, server, registered_scripts(self.NAME), cluster=self.cluster)
        except BackendError as exc:
            if self.require_startup_connection:
                raise
            _logger.warning("%s; starting anyway (require_startup_connection=False): hits follow on_error", exc)
        else:
            _logger.info("RedisBackend(namespace=%r): Redis at %s is reachable", self.namespace, server)

    async def close(self) -> None:
        """Close the pool this backend created; a client passed in stays open.

        The connections kept for hits go back to the client's pool either way.
        """
        self._follow_loop()
        with translate_errors("closing the connection pool"):
            await self._close_client()

    def __repr__(self) -> str:
        where = redact(self._url) if self._url is not None else type(self._client).__name__
        return f"RedisBackend({where!r}, namespace={self.namespace!r}, persistent={self.persistent!r})"
