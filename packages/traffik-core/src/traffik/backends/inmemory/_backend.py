"""The in-process backend: dictionaries, a synchronous step, an incremental sweep."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl, urlsplit

from traffik.backends.base import ErrorPolicy, ThrottleBackend
from traffik.backends.inmemory._sliding_log import NativeLog
from traffik.clock import Clock
from traffik.exceptions import ConfigurationError
from traffik.locks import LocalLock, LocalLockTable, LockKind
from traffik.rates import Rate
from traffik.strategies import UNLIMITED_DECISION, Decision, SlidingWindowLog, State, ThrottleStrategy
from traffik.strategies._base import with_reset

__all__ = ["InMemoryBackend"]

_LOCK_KINDS: Final = ("fair", "unfair")
_SMALL_LOG: Final = 17
"""Longest sliding-window-log tuple kept as is: its expiry and up to 8 (time, cost) entries."""


class InMemoryBackend(ThrottleBackend):
    """Keeps every state in this process: fast, and not shared with other processes.

    A hit reads the state, runs the strategy's pure step and writes the new
    state with no ``await`` in between, so hits are atomic within the event
    loop without any lock. ``SlidingWindowLog`` runs natively on a deque (O(1)
    amortised per hit instead of copying a growing tuple).

    Each instance owns its own storage: two backends never see each other's
    data, whatever their namespaces, and :meth:`clear` empties this one only.

    Expired states are dropped lazily when their key is hit, and by a periodic
    sweep. Storage is split into ``number_of_shards`` dictionaries and the sweep
    is incremental: every ``cleanup_frequency / number_of_shards`` seconds it
    scans a single shard, so one full pass takes ``cleanup_frequency`` seconds
    and no single tick pauses the event loop for long (more shards, shorter
    pauses). A live state is never evicted to save memory: there is no size cap
    that could let a throttled client back in.

    Args:
        namespace: Name of this backend's data, used in ``repr`` and URLs.
        persistent: Keep the data when the lifespan ends (default: clear it).
        on_error: Default failure policy for throttles using this backend.
        identifier: Default identifier for throttles that set none.
        handle_throttled: Default throttled handler for throttles that set none.
        number_of_shards: Number of storage dictionaries (an int >= 1).
        cleanup_frequency: Seconds for a full sweep of expired keys (a positive
            number), or ``None`` to rely on lazy reclamation only.
        lock_kind: ``"fair"`` (FIFO) or ``"unfair"`` (faster) for :meth:`lock`.
        lock_blocking: Override of ``TRAFFIK_DEFAULT_BLOCKING`` for :meth:`lock`.
        lock_ttl: Override of ``TRAFFIK_DEFAULT_LOCK_TTL`` (seconds).
        lock_blocking_timeout: Override of ``TRAFFIK_DEFAULT_BLOCKING_TIMEOUT`` (seconds).
        clock: Milliseconds clock; tests inject a :class:`~traffik.clock.ManualClock`.

    Raises:
        ConfigurationError: Any invalid parameter, named with its value.

    Example:
        >>> import asyncio
        >>> from traffik.rates import Rate
        >>> from traffik.strategies import FixedWindow
        >>> async def main() -> list[bool]:
        ...     async with InMemoryBackend(namespace="demo") as backend:
        ...         rate = Rate.parse("2/min")
        ...         return [(await backend.hit("client", FixedWindow(), rate)).allowed for _ in range(3)]
        >>> asyncio.run(main())
        [True, True, False]
    """

    NAME: ClassVar[str] = "inmemory"
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ("memory", "inmemory")

    def __init__(
        self,
        namespace: str = "inmemory",
        persistent: bool = False,
        on_error: ErrorPolicy = "throttle",
        identifier: Callable[..., Any] | None = None,
        handle_throttled: Callable[..., Any] | None = None,
        number_of_shards: int = 3,
        cleanup_frequency: float | None = 10.0,
        lock_kind: LockKind = "unfair",
        lock_blocking: bool | None = None,
        lock_ttl: float | None = None,
        lock_blocking_timeout: float | None = None,
        *,
        clock: Clock | None = None,
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
        if isinstance(number_of_shards, bool) or not isinstance(number_of_shards, int) or number_of_shards < 1:
            raise ConfigurationError(f"InMemoryBackend: number_of_shards must be an int >= 1, got {number_of_shards!r}")
        if cleanup_frequency is not None and (
            isinstance(cleanup_frequency, bool)
            or not isinstance(cleanup_frequency, (int, float))
            or not math.isfinite(cleanup_frequency)
            or cleanup_frequency <= 0
        ):
            raise ConfigurationError(
                f"InMemoryBackend: cleanup_frequency must be a positive number of seconds or None, "
                f"got {cleanup_frequency!r}"
            )
        if lock_kind not in _LOCK_KINDS:
            raise ConfigurationError(f"InMemoryBackend: lock_kind must be 'fair' or 'unfair', got {lock_kind!r}")
        self.number_of_shards: int = number_of_shards
        self.cleanup_frequency: float | None = None if cleanup_frequency is None else float(cleanup_frequency)
        self.lock_kind: LockKind = lock_kind
        self._shards: list[dict[str, State]] = [{} for _ in range(number_of_shards)]
        self._log_shards: list[dict[str, NativeLog]] = [{} for _ in range(number_of_shards)]
        self._locks = LocalLockTable(
            kind=lock_kind,
            blocking=self.lock_blocking,
            ttl=self.lock_ttl,
            blocking_timeout=self.lock_blocking_timeout,
        )
        self._next_shard = 0
        self._sweeper: asyncio.Task[None] | None = None
        self._users = 0

    # -- the hit path -----------------------------------------------------

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """Apply one hit of ``cost`` to ``key`` and return the decision (atomic in this loop)."""
        if rate.unlimited:
            return UNLIMITED_DECISION
        # The exact class only: a subclass may change the step the native log mirrors.
        if type(strategy) is SlidingWindowLog:
            return self._log_hit(key, strategy, rate, cost, True)
        shard = self._shards[hash(key) % self.number_of_shards]
        now = self.clock()
        state = shard.get(key)
        if state is not None and state[0] <= now:
            state = None
        new_state, decision = strategy.step(state, now, cost, rate)
        if new_state is not state:
            if new_state is None:
                shard.pop(key, None)
                return decision
            shard[key] = new_state
        elif new_state is None:
            return decision
        # Inline with_reset(): this is the hottest path of the in-memory backend.
        reset = new_state[0] - now
        if reset > 0:
            decision.reset_ms = reset
        return decision

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """The decision a hit of ``cost`` would get now, consuming nothing."""
        if rate.unlimited:
            return UNLIMITED_DECISION
        if type(strategy) is SlidingWindowLog:
            return self._log_hit(key, strategy, rate, cost, False)
        now = self.clock()
        state = self._shards[hash(key) % self.number_of_shards].get(key)
        if state is not None and state[0] <= now:
            state = None
        return with_reset(strategy.peek(state, now, cost, rate), state, now)

    def _log_hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, consume: bool) -> Decision:
        index = hash(key) % self.number_of_shards
        logs = self._log_shards[index]
        log = logs.get(key)
        now = self.clock()
        if log is not None:
            return log.hit(now, cost, rate) if consume else log.peek(now, cost, rate)
        # A short log stays the pure step's compact tuple (most keys see a few
        # hits per window); once it outgrows _SMALL_LOG it moves to a native
        # log, whose hits are O(1) however long it gets.
        shard = self._shards[index]
        state = shard.get(key)
        if state is not None and state[0] <= now:
            state = None
        if not consume:
            return with_reset(strategy.peek(state, now, cost, rate), state, now)
        new_state, decision = strategy.step(state, now, cost, rate)
        if new_state is not state:
            if new_state is None:
                shard.pop(key, None)
            elif len(new_state) > _SMALL_LOG:
                shard.pop(key, None)
                logs[key] = NativeLog.from_state(new_state)
            else:
                shard[key] = new_state
        return with_reset(decision, new_state, now)

    # -- storage primitives (the generic path and introspection) ----------

    async def load_state(self, key: str) -> State | None:
        """The live state stored under ``key`` (``None`` if absent or expired).

        A natively stored sliding-window log is returned in the strategy's
        tuple layout.
        """
        index = hash(key) % self.number_of_shards
        now = self.clock()
        state = self._shards[index].get(key)
        if state is not None and state[0] > now:
            return state
        log = self._log_shards[index].get(key)
        if log is not None and log.expires_at > now:
            return log.as_state()
        return None

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        """Store ``state`` under ``key``; it expires at ``state[0]``, which the caller derives ``ttl_ms`` from."""
        index = hash(key) % self.number_of_shards
        self._log_shards[index].pop(key, None)
        self._shards[index][key] = state

    async def clear(self) -> None:
        """Drop every state of this backend (and nothing of any other backend)."""
        for shard in self._shards:
            shard.clear()
        for log_shard in self._log_shards:
            log_shard.clear()

    def lock(self, name: str) -> LocalLock:
        """A process-local lock named ``name``, of ``lock_kind``, honouring the ``lock_*`` settings."""
        return self._locks.get(name)

    def __bool__(self) -> bool:
        # Without this, __len__ would make an empty backend falsy and break `backend or default`.
        return True

    def __len__(self) -> int:
        """Number of keys whose state has not expired."""
        now = self.clock()
        live = 0
        for shard in self._shards:
            live += sum(1 for state in shard.values() if state[0] > now)
        for log_shard in self._log_shards:
            live += sum(1 for log in log_shard.values() if log.expires_at > now)
        return live

    # -- expiry -----------------------------------------------------------

    def sweep_shard(self, index: int | None = None) -> int:
        """Drop the expired states of one shard; returns how many were dropped.

        Args:
            index: The shard to sweep; by default the next one in turn, which
                is what the periodic cleanup does on every tick.
        """
        if index is None:
            index = self._next_shard
            self._next_shard = (index + 1) % self.number_of_shards
        elif isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.number_of_shards:
            raise ValueError(f"shard index must be in 0..{self.number_of_shards - 1}, got {index!r}")
        now = self.clock()
        shard = self._shards[index]
        expired = [key for key, state in shard.items() if state[0] <= now]
        for key in expired:
            del shard[key]
        log_shard = self._log_shards[index]
        expired_logs = [key for key, log in log_shard.items() if log.expires_at <= now]
        for key in expired_logs:
            del log_shard[key]
        return len(expired) + len(expired_logs)

    def sweep(self) -> int:
        """Sweep every shard at once; returns how many expired states were dropped."""
        return sum(self.sweep_shard(index) for index in range(self.number_of_shards))

    async def _sweep_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.sweep_shard()

    @property
    def cleanup_running(self) -> bool:
        """Whether the periodic sweep task is running."""
        return self._sweeper is not None and not self._sweeper.done()

    # -- lifecycle --------------------------------------------------------

    async def initialize(self) -> None:
        """Start the periodic sweep on the running loop (unless ``cleanup_frequency`` is ``None``).

        Nested start-ups (a lifespan and an ``async with``) share one sweep
        task, stopped by the last matching :meth:`close`.
        """
        self._users += 1
        if self.cleanup_frequency is not None and not self.cleanup_running:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(self.cleanup_frequency / self.number_of_shards),
                name=f"traffik-inmemory-sweep:{self.namespace}",
            )

    async def close(self) -> None:
        """Stop the periodic sweep once every :meth:`initialize` has been matched."""
        self._users = max(0, self._users - 1)
        if self._users:
            return
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is None or sweeper.done():
            return
        sweeper.cancel()
        if sweeper.get_loop() is asyncio.get_running_loop():
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    # -- construction from a URL ------------------------------------------

    @classmethod
    def from_url(cls, url: str, **options: Any) -> InMemoryBackend:
        """Build from ``"memory://"`` or ``"inmemory://"``, with an optional ``?namespace=name``.

        Other keyword arguments are passed to the constructor.

        Raises:
            ConfigurationError: Another scheme, a host or path, an unknown or
                repeated query parameter, or a namespace given twice.

        Example:
            >>> InMemoryBackend.from_url("memory://?namespace=api").namespace
            'api'
        """
        if not isinstance(url, str):
            raise ConfigurationError(f"InMemoryBackend.from_url: url must be a string, got {url!r}")
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise ConfigurationError(f"InMemoryBackend.from_url: invalid URL {url!r}: {exc}") from None
        if parts.scheme.lower() not in cls.URL_SCHEMES or not url.lower().startswith(f"{parts.scheme.lower()}://"):
            raise ConfigurationError(f"InMemoryBackend.from_url: expected 'memory://' or 'inmemory://', got {url!r}")
        if parts.netloc or parts.path or parts.fragment:
            raise ConfigurationError(
                f"InMemoryBackend.from_url: an in-memory URL takes no host or path, got {url!r} "
                "(use 'memory://?namespace=name')"
            )
        try:
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise ConfigurationError(f"InMemoryBackend.from_url: malformed query in {url!r}") from None
        for name, _ in query:
            if name != "namespace":
                raise ConfigurationError(
                    f"InMemoryBackend.from_url: unknown query parameter {name!r} in {url!r} (only 'namespace')"
                )
        if len(query) > 1:
            raise ConfigurationError(f"InMemoryBackend.from_url: namespace given more than once in {url!r}")
        if query:
            if "namespace" in options:
                raise ConfigurationError(
                    f"InMemoryBackend.from_url: namespace given both in {url!r} and as a keyword argument"
                )
            options["namespace"] = query[0][1]
        return cls(**options)

    def __repr__(self) -> str:
        return (
            f"InMemoryBackend(namespace={self.namespace!r}, persistent={self.persistent!r}, "
            f"number_of_shards={self.number_of_shards!r}, cleanup_frequency={self.cleanup_frequency!r})"
        )
