"""The Redis backend: one Lua script per strategy, one round trip per hit."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any, ClassVar, Final, Union

from traffik.backends.base import (
    BackendCapabilities,
    ErrorPolicy,
    NativeStrategies,
    ThrottleBackend,
    decode_state,
    encode_state,
)
from traffik.backends.redis._cluster import run_once
from traffik.backends.redis._commands import ScriptCall
from traffik.backends.redis._connections import KeptConnections
from traffik.backends.redis._errors import translate_errors
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._lock import RedisLock
from traffik.backends.redis._scripts import LuaScript, format_number
from traffik.backends.redis._startup import check_server
from traffik.backends.redis._urls import URL_SCHEMES, check_url, client_from_url, is_cluster_url, redact, where
from traffik.clock import Clock, wall_ms
from traffik.exceptions import BackendError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import UNLIMITED_DECISION, Decision, State, ThrottleStrategy, with_reset
from traffik.validation import boolean, optional, positive_number, whole_number

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

__all__ = ["DEFAULT_CLOCK_MARGIN_MS", "DEFAULT_MAX_CONNECTIONS", "DEFAULT_TIMEOUT", "RedisBackend"]

DEFAULT_TIMEOUT: Final = 0.5
"""Default connect and command timeout in seconds: a dead or hung Redis hands control back fast."""
DEFAULT_CLOCK_MARGIN_MS: Final = 1000
"""Default extra lifetime of keys, in ms, when the backend is given a ``clock``."""
DEFAULT_MAX_CONNECTIONS: Final = 50
"""Default number of connections kept for hits, hence of hits in flight at once."""

_UNLINK_BATCH: Final = 500
_SCAN_COUNT: Final = 1000
_logger = logging.getLogger("traffik.backends.redis")
_MAX_STRATEGIES: Final = 1024  # strategy objects remembered; an app has a handful, a leak would have many
_ALLOWED: Final = (b"1", "1")

RedisClient = Union[Redis, RedisCluster]
"""A redis-py asyncio client: a single server (or Sentinel-managed) one, or a cluster one."""


_OWNER: Final = "RedisBackend"
_TIMEOUT: Final = optional(positive_number(unit="seconds"))
_CLOCK_MARGIN: Final = whole_number(min=0).described("a whole number of milliseconds >= 0")


def _decision(reply: bytes | str) -> Decision:
    """Parse the scripts' reply line: ``allowed wait_ms hits_remaining reset_ms [queue_delay_ms]``."""
    parts = reply.split()
    remaining = parts[2]
    decision = Decision(
        parts[0] in _ALLOWED,
        float(parts[1]),
        int(remaining) if remaining.isdigit() else _number(remaining),
        {"queue_delay_ms": float(parts[4])} if len(parts) > 4 else None,
    )
    decision.reset_ms = float(parts[3])
    return decision


def _number(text: bytes | str) -> float | int:
    """A reply number that is not a plain non-negative integer: an int when whole, else the float."""
    value = float(text)
    return int(value) if value.is_integer() else value


class _NoScript:
    """A strategy with no Lua implementation: it takes the lock-based path."""

    __slots__ = ("strategy",)
    script: None = None

    def __init__(self, strategy: ThrottleStrategy) -> None:
        self.strategy = strategy


class RedisBackend(ThrottleBackend):
    """Shares counters between every process that uses the same Redis and namespace.

    Every built-in strategy runs as a Lua script (loaded once, run with
    ``EVALSHA``, reloaded transparently after ``NOSCRIPT``) that reads the
    state, decides, writes the new state and returns the decision: a hit or a
    peek is exactly **one round trip**, atomic under any concurrency. A
    strategy without a Lua implementation (a third-party one) falls back to a
    slower, still atomic path: a Redis lock around ``GET``, the pure step and
    ``SET``.

    **Time.** By default the scripts read the Redis server's ``TIME``, so app
    instances whose clocks disagree still share one timeline. Pass ``clock=``
    to use that clock instead (its value is sent with each call; tests use a
    :class:`~traffik.clock.ManualClock`). With a clock, each key lives
    ``clock_margin_ms`` longer than its state (strategies ignore an expired
    state, so this only costs memory), so an instance whose clock lags the
    one that wrote the state by up to that margin still finds it. The
    fallback path for strategies without Lua reads ``clock`` (wall-clock
    milliseconds by default).

    **Keys** are ``<namespace>:{<key>}:<strategy>`` (see
    :mod:`traffik.backends.redis._keys`): the braces are a Redis Cluster hash
    tag, namespaces never overlap, and every key has a TTL in milliseconds, at
    least 1, rounded up, so state never outlives nor predeceases its use.

    **Lifecycle.** The connection pool is created from ``url`` at
    :meth:`initialize` (or on first use) and closed by :meth:`close`. A client
    passed as ``url`` belongs to the application: it is used with its own
    options and never closed; its own timeouts apply, and ``socket_timeout``
    still bounds each hit on it (connecting included) where they do not.
    Hits bypass redis-py's per-command pool checkout: up to
    ``max_connections`` connections are kept for them (see
    :mod:`traffik.backends.redis._connections`) and go back to the pool at
    :meth:`close`; more concurrent hits queue for a free connection rather than
    fail with "Too many connections". With ``persistent=False`` (the default)
    the end of the lifespan deletes this namespace's keys, on every primary of
    a cluster, with ``SCAN`` + ``UNLINK`` (never ``FLUSHDB``); since other app
    instances share those keys, set ``persistent=True`` for shared deployments.

    **Failures.** Connect and command timeouts default to
    :data:`DEFAULT_TIMEOUT` and commands are not retried (a hit is not
    idempotent), so a dead or hung Redis returns control within about a
    second, as :class:`~traffik.exceptions.BackendTimeoutError` or
    :class:`~traffik.exceptions.BackendConnectionError`, for ``on_error`` to handle.

    Args:
        url: ``redis://host:port/db``, ``rediss://...?ssl_ca_certs=...``, ``unix:///path.sock``,
            ``redis+cluster://host:port[,host:port...]``, ``redis+sentinel://...`` (see
            :mod:`traffik.backends.redis._urls`), or an existing ``redis.asyncio.Redis`` /
            ``RedisCluster`` / Sentinel ``master_for`` client.
        namespace: Prefix that isolates this backend's keys.
        persistent: Keep the data when the lifespan ends (default: delete it).
        on_error: Default failure policy for throttles using this backend.
        identifier: Default identifier for throttles that set none.
        handle_throttled: Default throttled handler for throttles that set none.
        lock_blocking: Override of ``TRAFFIK_DEFAULT_BLOCKING`` for :meth:`lock`.
        lock_ttl: Override of ``TRAFFIK_DEFAULT_LOCK_TTL`` (seconds).
        lock_blocking_timeout: Override of ``TRAFFIK_DEFAULT_BLOCKING_TIMEOUT`` (seconds).
        clock: Milliseconds clock sent to the scripts instead of the server's ``TIME``.
        cluster: Connect to a ``redis://`` or ``rediss://`` ``url`` as a Redis Cluster
            (``redis+cluster://`` urls always are).
        socket_timeout: Seconds a command may take (``None``: no limit).
        connect_timeout: Seconds connecting may take (``None``: no limit).
        clock_margin_ms: Extra key lifetime in ms whenever a client clock decides (``clock``
            given, or the fallback path); a whole number >= 0.
        max_connections: Connections kept for hits, hence hits in flight at once (never more
            than half of a given client's pool); more concurrent hits wait for one for as long
            as Redis keeps answering: waiting is not a failure, a hit that fails with no reply
            from Redis since it began is, and the waiting ones then fail with it. A whole
            number >= 1.
        require_startup_connection: Fail :meth:`initialize` (the lifespan's start-up) when
            Redis cannot be reached; ``False`` logs a warning and starts anyway, and hits
            follow ``on_error`` until Redis answers. Rejected credentials or TLS fail either way.

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

    def __init__(
        self,
        url: str | RedisClient,
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
        )
        boolean(_OWNER, "cluster", cluster)
        self.socket_timeout = _TIMEOUT(_OWNER, "socket_timeout", socket_timeout)
        self.connect_timeout = _TIMEOUT(_OWNER, "connect_timeout", connect_timeout)
        self.clock_margin_ms = _CLOCK_MARGIN(_OWNER, "clock_margin_ms", clock_margin_ms)
        self.max_connections = whole_number(min=1)(_OWNER, "max_connections", max_connections)
        self.call_timeout: float | None
        """Set to ``None`` (no throttle-side timer around each hit) wherever this backend bounds
        every step of a hit itself: connecting, the command, asking Sentinel, each by its
        timeout, while waiting for a kept connection is contention, not a failure (see
        :mod:`traffik.backends.redis._connections`). An outer timer would count a long queue
        as an outage. Left unset (the throttle's default) for a client passed in whose
        commands this backend cannot bound (a cluster or single-connection client)."""
        self.require_startup_connection = boolean(_OWNER, "require_startup_connection", require_startup_connection)
        self._kept: KeptConnections | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._url: str | None
        self._client: RedisClient | None
        if isinstance(url, (Redis, RedisCluster)):
            self._url, self._client, self._owns_client = None, url, False
            self.cluster = isinstance(url, RedisCluster)
            self._kept = self._keep_connections(url)
            if self._kept is not None:
                self.call_timeout = None  # see the attribute's note above
        elif isinstance(url, str):
            check_url(url, cluster)
            self._url, self._client, self._owns_client = url, None, True
            self.call_timeout = None  # see the attribute's note above
            self.cluster = cluster or is_cluster_url(url)
        else:
            raise ConfigurationError(
                f"RedisBackend: url must be a Redis URL ({', '.join(URL_SCHEMES)}) or a redis.asyncio client, "
                f"got {url!r}"
            )
        # Scripts read the server's TIME unless a clock was given; the lock-based
        # fallback needs a clock shared by every instance, hence wall time.
        self._server_time = clock is None
        if clock is None:
            self.clock = wall_ms
        self._margin = "0" if clock is None else str(clock_margin_ms)
        self._keys = KeyLayout(namespace)
        self._native: NativeStrategies[LuaScript] = NativeStrategies(self.NAME, kind=LuaScript)
        self._calls: dict[int, ScriptCall | _NoScript] = {}

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
            return await self._generic(key, strategy, rate, cost, commit=commit)
        client = self._client_here()
        kept = self._kept
        now = "" if self._server_time else format_number(self.clock())
        state_key = self._keys.state_key(key, strategy.NAME)
        try:
            if kept is not None:
                reply = await kept.call(call.pack(kept.encode(state_key), now.encode(), cost, rate, commit))
            elif isinstance(client, RedisCluster):  # never retried: a timed-out script may have run
                argv = call.argv(now, cost, rate, commit)
                reply = await run_once(client, state_key, "EVALSHA", call.script.sha, 1, state_key, *argv)
            else:
                reply = await client.evalsha(call.script.sha, 1, state_key, *call.argv(now, cost, rate, commit))
        except NoScriptError:
            # Not cached on that server (restart, SCRIPT FLUSH, new cluster node):
            # EVAL runs it and caches it in the same round trip.
            with translate_errors(f"{strategy.NAME} on key {key!r}"):
                if kept is not None:
                    reply = await kept.call(call.pack_source(kept.encode(state_key), now, cost, rate, commit))
                elif isinstance(client, RedisCluster):
                    argv = call.argv(now, cost, rate, commit)
                    reply = await run_once(client, state_key, "EVAL", call.script.source, 1, state_key, *argv)
                else:
                    reply = await client.eval(call.script.source, 1, state_key, *call.argv(now, cost, rate, commit))
        except Exception as exc:
            # Translated here rather than by a context manager around the call: this is the hot path.
            with translate_errors(f"{strategy.NAME} on key {key!r}"):
                raise exc
        return _decision(reply)

    def _call_for(self, strategy: ThrottleStrategy) -> ScriptCall | _NoScript:
        """How to run ``strategy``, worked out once per strategy object.

        Keyed by ``id``: the entry holds the strategy itself, so the id cannot be
        reused by another object while the entry is cached.
        """
        script = self._script_for(strategy)
        call: ScriptCall | _NoScript = (
            _NoScript(strategy) if script is None else ScriptCall(strategy, script, self._margin)
        )
        if len(self._calls) >= _MAX_STRATEGIES:
            self._calls.clear()
        self._calls[id(strategy)] = call
        return call

    def _script_for(self, strategy: ThrottleStrategy) -> LuaScript | None:
        # The exact class only (runs_natively): a subclass may override step() and keep
        # NAME, and its parent's script would enforce the parent's algorithm.
        return self._native.find(strategy)

    async def _generic(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, *, commit: bool) -> Decision:
        client = self._client_here()
        state_key = self._keys.state_key(key, strategy.NAME)
        if not commit:
            now = self.clock()
            state = await self._load(client, state_key, now)
            return with_reset(strategy.peek(state, now, cost, rate), state, now)
        async with self.lock(state_key):
            now = self.clock()
            state = await self._load(client, state_key, now)
            new_state, decision = strategy.step(state, now, cost, rate)
            if new_state is not state and new_state is not None:
                ttl = max(1, math.ceil(new_state[0] - now)) + self.clock_margin_ms
                with translate_errors(f"{strategy.NAME} on key {key!r}"):
                    await client.set(state_key, encode_state(new_state), px=ttl)
            return with_reset(decision, new_state, now)

    async def _load(self, client: RedisClient, state_key: str, now: float) -> State | None:
        with translate_errors(f"reading {state_key!r}"):
            raw = await client.get(state_key)
        if raw is None:
            return None
        try:
            state = decode_state(raw)
        except ValueError:
            return None  # not written by this backend: the same as no state
        return state if state and state[0] > now else None

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
            if isinstance(client, RedisCluster):
                keys = client.scan_iter(
                    match=self._keys.scan_pattern, count=_SCAN_COUNT, target_nodes=RedisCluster.PRIMARIES
                )
            else:
                keys = client.scan_iter(match=self._keys.scan_pattern, count=_SCAN_COUNT)
            batch: list[Any] = []
            async for found in keys:
                batch.append(found)
                if len(batch) >= _UNLINK_BATCH:
                    await client.unlink(*batch)
                    batch.clear()
            if batch:
                await client.unlink(*batch)

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
            await check_server(client, server, self._all_scripts())
        except BackendError as exc:
            if self.require_startup_connection:
                raise
            _logger.warning("%s; starting anyway (require_startup_connection=False): hits follow on_error", exc)

    def _all_scripts(self) -> list[LuaScript]:
        from traffik.plugins import get_plugin_registry

        registry = get_plugin_registry()
        found = (registry.strategy_implementation(self.NAME, name) for name in registry.strategies())
        return [script for script in found if isinstance(script, LuaScript)]

    async def close(self) -> None:
        """Close the pool this backend created; a client passed in stays open.

        The connections kept for hits go back to the client's pool either way.
        """
        self._follow_loop()
        client, owned, kept = self._client, self._owns_client, self._kept
        with translate_errors("closing the connection pool"):
            if kept is not None:
                await kept.release_all()
                self._kept = self._keep_connections(client) if client is not None and not owned else None
            if client is None or not owned:
                return
            self._client = None
            if isinstance(client, Redis):
                await client.aclose(close_connection_pool=True)
            else:
                await client.aclose()

    def _client_here(self) -> RedisClient:
        """The client, usable on the running event loop.

        Connections belong to the event loop that opened them. When the backend
        is used from a new loop (each ``asyncio.run``, a ``TestClient`` without
        ``with``, a test framework's fresh loop per test), what the old loop
        opened is left behind: a client this backend made is replaced, and a
        client passed in keeps serving (its pool is the application's) while
        this backend's kept connections go back to it.
        """
        self._follow_loop()
        return self._ensure_client()

    def _follow_loop(self) -> None:
        loop = _running_loop()
        if loop is not self._loop and loop is not None:
            if self._loop is not None:
                self._leave_loop()
            self._loop = loop

    def _leave_loop(self) -> None:
        if self._owns_client:
            # Its sockets belong to a loop that no longer runs them; they are closed when collected.
            self._client, self._kept = None, None
            return
        client, old = self._client, self._kept
        assert client is not None  # a client passed in is never dropped
        self._kept = self._keep_connections(client)
        if old is not None:
            task = asyncio.get_running_loop().create_task(_hand_back(old))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _ensure_client(self) -> RedisClient:
        client = self._client
        if client is not None:
            return client
        assert self._url is not None  # only a backend built from a URL has no client yet
        options: dict[str, Any] = {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.connect_timeout,
            # No retries: a timed-out EVALSHA may have run, and retrying would count it
            # twice; one failed attempt is also what keeps a dead server's cost bounded.
            "retry": Retry(NoBackoff(), 0),
        }
        # Half the pool for the connections kept for hits (which queue for one of
        # theirs), half for everything else (locks, clearing, strategies without a
        # script), so neither starves the other.
        created = client_from_url(self._url, cluster=self.cluster, pool_size=2 * self.max_connections, **options)
        self._client = created
        self._kept = self._keep_connections(created)
        return created

    def _keep_connections(self, client: RedisClient) -> KeptConnections | None:
        """Connections kept for hits, for a plain client; a cluster client routes each command itself.

        At most half the pool's connections are kept, so the rest of the application
        (or this backend's locks and clearing) always finds one.
        """
        if not isinstance(client, Redis) or client.single_connection_client:
            return None
        pool = client.connection_pool
        pool_size = getattr(pool, "max_connections", None)
        limit = self.max_connections
        if isinstance(pool_size, int):
            limit = min(limit, max(1, pool_size // 2))
        # A client passed in keeps its own options, but a hit on it is still bounded by
        # socket_timeout (a default redis-py client has no timeout at all).
        hit_timeout = None if self._owns_client else self.socket_timeout
        return KeptConnections(pool, limit, hit_timeout)

    def __repr__(self) -> str:
        where = redact(self._url) if self._url is not None else type(self._client).__name__
        return f"RedisBackend({where!r}, namespace={self.namespace!r}, persistent={self.persistent!r})"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _hand_back(kept: KeptConnections) -> None:
    """Return connections kept on a former event loop to their pool, as redis-py would have them."""
    try:
        await kept.release_all()
    except Exception as exc:  # best effort: those connections are unusable from this loop anyway
        _logger.debug("redis: handing back connections from a former event loop failed: %r", exc)
