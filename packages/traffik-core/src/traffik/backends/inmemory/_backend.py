"""The in-process backend: dictionaries, a synchronous step, a sweep in slices, an optional bound."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any, ClassVar, Final

from traffik.backends.base import BackendCapabilities, ErrorPolicy, NativeStrategies, ThrottleBackend
from traffik.backends.deny_cache import DenyCache
from traffik.backends.inmemory._sliding_log import NativeLog, log_hit
from traffik.backends.inmemory._store import SEGMENTS, RoomMaker, Slot, expiry_of
from traffik.backends.inmemory._sweep import ShardSweeper
from traffik.backends.inmemory._url import options_from_url
from traffik.clock import Clock, monotonic_ms
from traffik.locks import LocalLock, LocalLockTable, LockKind
from traffik.rates import Rate
from traffik.strategies import (
    UNLIMITED_DECISION,
    Decision,
    FixedWindow,
    SlidingWindowLog,
    State,
    ThrottleStrategy,
    with_reset,
)
from traffik.validation import one_of, optional, positive_number, whole_number

__all__ = ["InMemoryBackend"]

_SHARDS: Final = whole_number(min=1).described("an int >= 1")
_CLEANUP_FREQUENCY: Final = optional(positive_number(unit="seconds"))
_LOCK_KIND: Final = one_of("fair", "unfair")
_MAX_KEYS: Final = optional(_SHARDS)
_GENERIC: Final = ""
"""Table of states stored by :meth:`InMemoryBackend.store_state` without a strategy name."""


class InMemoryBackend(ShardSweeper, ThrottleBackend):
    """Keeps every state in this process: fast, and not shared with other processes.

    A hit reads the state, runs the strategy's pure step and writes the new
    state with no ``await`` in between, so hits are atomic within the event
    loop without any lock. ``SlidingWindowLog`` runs natively on a deque (O(1)
    amortised per hit instead of copying a growing tuple).

    Each instance owns its own storage: two backends never see each other's
    data, whatever their namespaces, and :meth:`clear` empties this one only.
    States are kept per strategy (like Redis and Memcached keys), so after
    :meth:`~traffik.throttles.HTTPThrottle.update_strategy` the new strategy
    starts afresh instead of reading the old one's state.

    Expired states are dropped lazily when their key is hit, and by a periodic
    sweep. Storage is split into ``number_of_shards`` shards and the sweep is
    incremental: every ``cleanup_frequency / number_of_shards`` seconds it
    sweeps a single shard, so one full pass takes ``cleanup_frequency``
    seconds, and it sweeps that shard in slices of at most
    :attr:`SWEEP_SLICE` keys, yielding to the event loop between slices: no
    sweep holds the loop for long, however many keys there are.

    By default nothing bounds the number of keys (every live state is kept
    until it expires). ``max_keys`` caps it: a new key that would exceed the
    cap first reclaims expired keys, else evicts the examined key that expires
    soonest among those that are *not spent* (whose last hit was admitted and
    left at least one hit of quota); a throttled client is never evicted, so
    eviction never lets it back in early. If every examined key is spent, the
    new key is refused: its hit is denied until one of them expires.

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
        max_keys: Most keys stored at once (an int >= 1), or ``None`` (the
            default) for no bound; see above for what happens at the bound.
        deny_cache: A :class:`~traffik.backends.deny_cache.DenyCache` (or ``True``): it saves nothing
            here, and lets code be tested in memory with the setting it uses on a shared store.

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
    CAPABILITIES: ClassVar[BackendCapabilities] = BackendCapabilities(native_strategies=True, state_store=True)

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
        max_keys: int | None = None,
        deny_cache: DenyCache | bool | None = None,
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
        owner = "InMemoryBackend"
        _SHARDS(owner, "number_of_shards", number_of_shards)
        _CLEANUP_FREQUENCY(owner, "cleanup_frequency", cleanup_frequency)
        _LOCK_KIND(owner, "lock_kind", lock_kind)
        _MAX_KEYS(owner, "max_keys", max_keys)
        self.number_of_shards: int = number_of_shards
        self.cleanup_frequency: float | None = None if cleanup_frequency is None else float(cleanup_frequency)
        self.lock_kind: LockKind = lock_kind
        self.max_keys: int | None = max_keys
        # A key's slot is hash(key) % _slots; slot s belongs to shard s % number_of_shards.
        self._slots = number_of_shards * SEGMENTS
        self._tables: dict[str, list[dict[str, State]]] = {}
        self._logs: list[dict[str, NativeLog]] = [{} for _ in range(self._slots)]
        self._shard_slots: list[list[tuple[str, Slot]]] = [[] for _ in range(number_of_shards)]
        self._all_slots: list[tuple[str, Slot]] = []
        self._add_slots(SlidingWindowLog.NAME, self._logs)
        self._count = 0
        """Keys stored (live or expired but not yet reclaimed)."""
        self._limit: float = math.inf if max_keys is None else max_keys
        # (strategy name, key) of spent keys: tracked only under a bound, to exempt them from eviction.
        self._spent: set[tuple[str, str]] | None = None if max_keys is None else set()
        self._room = RoomMaker()
        self._locks = LocalLockTable(
            kind=lock_kind,
            blocking=self.lock_blocking,
            ttl=self.lock_ttl,
            blocking_timeout=self.lock_blocking_timeout,
        )
        self._native: NativeStrategies[type[NativeLog]] = NativeStrategies(
            self.NAME, builtin=[NativeLog], registered=False
        )
        self._next_shard = 0
        self._sweeper: asyncio.Task[None] | None = None
        self._users = 0

    # -- storage layout ---------------------------------------------------

    def _add_slots(self, name: str, slots: list[dict[str, Any]]) -> None:
        for index, slot in enumerate(slots):
            self._shard_slots[index % self.number_of_shards].append((name, slot))
            self._all_slots.append((name, slot))

    def _table(self, name: str) -> list[dict[str, State]]:
        """The slots of strategy ``name``'s states (created on its first hit)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = [{} for _ in range(self._slots)]
            self._add_slots(name, table)
        return table

    def _forget(self, name: str, key: str) -> None:
        """Account for a key that is no longer stored."""
        self._count -= 1
        if self._spent is not None:
            self._spent.discard((name, key))

    def _mark(self, name: str, key: str, decision: Decision) -> None:
        """Remember whether a stored key is spent (only under ``max_keys``)."""
        assert self._spent is not None
        if decision.allowed and decision.hits_remaining >= 1:
            self._spent.discard((name, key))
        else:
            self._spent.add((name, key))

    def _admit_new_key(self, now: float) -> Decision | None:
        """Make room for one more key; ``None`` if there is room, else the refusal of the new key."""
        assert self._spent is not None
        freed, wait_ms = self._room.make_room(self._all_slots, self._spent, now)
        if not freed:
            return Decision(False, wait_ms, 0)
        self._count -= freed
        return None

    # -- the hit path -----------------------------------------------------

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """Apply one hit of ``cost`` to ``key`` and return the decision (atomic in this loop)."""
        return self._hit_now(key, strategy, rate, cost)

    def _hit_now(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """:meth:`hit`, answered without a coroutine (a throttle bound to this class's own ``hit`` calls it).

        The one implementation of a hit: :meth:`hit` awaits nothing and returns
        this, so the lane of a throttle saves a coroutine without a second copy.
        """
        if rate.unlimited:
            return UNLIMITED_DECISION
        fixed_window = type(strategy) is FixedWindow  # the exact class: a subclass may change the step
        # The exact class only (runs_natively): a subclass may change the step the native log mirrors.
        if not fixed_window and self._native[type(strategy)] is not None:
            return log_hit(self, key, strategy, rate, cost, True)
        name = strategy.NAME
        table = self._tables.get(name)
        if table is None:
            table = self._table(name)
        slot = table[hash(key) % self._slots]
        clock = self.clock
        # monotonic_ms() without its call (an injected clock is called as always).
        now = time.monotonic() * 1000.0 if clock is monotonic_ms else clock()  # noqa: TID251
        stored = slot.get(key)
        state = stored if stored is not None and stored[0] > now else None
        if fixed_window and state is not None:
            window_end, count = state
            if 0 < cost <= rate.limit - count:
                # FixedWindow.step's admitted hit in a live window (the common hit), inline with the
                # same arithmetic: a step call and its returned pair fewer (a test checks it against the step).
                used = count + cost
                slot[key] = (window_end, used)
                decision = Decision(True, 0.0, rate.limit - used)
                if self._spent is not None:
                    self._mark(name, key, decision)
                decision.reset_ms = window_end - now
                return decision
        new_state, decision = strategy.step(state, now, cost, rate)
        if new_state is not state:
            if new_state is None:
                if stored is not None:
                    del slot[key]
                    self._forget(name, key)
                return decision
            if stored is None:
                if self._count >= self._limit:
                    refused = self._admit_new_key(now)
                    if refused is not None:
                        return refused
                self._count += 1
            slot[key] = new_state
        elif new_state is None:
            return decision
        if self._spent is not None:
            self._mark(name, key, decision)
        # Inline with_reset(): this is the hottest path of the in-memory backend.
        reset = new_state[0] - now
        if reset > 0:
            decision.reset_ms = reset
        return decision

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """The decision a hit of ``cost`` would get now, consuming nothing."""
        if rate.unlimited:
            return UNLIMITED_DECISION
        if self._native[type(strategy)] is not None:
            return log_hit(self, key, strategy, rate, cost, False)
        now = self.clock()
        table = self._tables.get(strategy.NAME)
        state = None if table is None else table[hash(key) % self._slots].get(key)
        if state is not None and state[0] <= now:
            state = None
        return with_reset(strategy.peek(state, now, cost, rate), state, now)

    # -- storage primitives (the generic path and introspection) ----------

    async def load_state(self, key: str, *, strategy: str | None = None) -> State | None:
        """The live state stored under ``key`` (``None`` if absent or expired).

        Args:
            key: The throttle key.
            strategy: The ``NAME`` of the strategy whose state to read; by
                default, the state of any strategy that has a live one.

        A natively stored sliding-window log is returned in the strategy's
        tuple layout.
        """
        index = hash(key) % self._slots
        now = self.clock()
        names = list(self._tables) if strategy is None else [strategy]
        for name in names:
            table = self._tables.get(name)
            state = None if table is None else table[index].get(key)
            if state is not None and state[0] > now:
                return state
        if strategy is None or strategy == SlidingWindowLog.NAME:
            log = self._logs[index].get(key)
            if log is not None and log.expires_at > now:
                return log.as_state()
        return None

    async def store_state(self, key: str, state: State, ttl_ms: int, *, strategy: str = _GENERIC) -> None:
        """Store ``state`` under ``key`` for strategy ``NAME`` ``strategy``.

        It expires at ``state[0]``, which the caller derives ``ttl_ms`` from.
        Hits read the states of their own strategy's ``NAME`` only; without
        ``strategy``, the state is kept apart from every strategy's.
        """
        index = hash(key) % self._slots
        if strategy == SlidingWindowLog.NAME and self._logs[index].pop(key, None) is not None:
            self._count -= 1
        slot = self._table(strategy)[index]
        if key not in slot:
            self._count += 1
        slot[key] = state

    async def clear(self) -> None:
        """Drop every state of this backend (and nothing of any other backend)."""
        for _, slot in self._all_slots:
            slot.clear()
        self._count = 0
        if self._spent is not None:
            self._spent.clear()
        self._room.reset()

    def lock(self, name: str) -> LocalLock:
        """A process-local lock named ``name``, of ``lock_kind``, honouring the ``lock_*`` settings."""
        return self._locks.get(name)

    def __bool__(self) -> bool:
        # Without this, __len__ would make an empty backend falsy and break `backend or default`.
        return True

    def __len__(self) -> int:
        """Number of keys whose state has not expired."""
        now = self.clock()
        return sum(1 for _, slot in self._all_slots for stored in slot.values() if expiry_of(stored) > now)

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
        return cls(**options_from_url(url, cls.URL_SCHEMES, options))

    def __repr__(self) -> str:
        bound = "" if self.max_keys is None else f", max_keys={self.max_keys!r}"
        return (
            f"InMemoryBackend(namespace={self.namespace!r}, persistent={self.persistent!r}, "
            f"number_of_shards={self.number_of_shards!r}, cleanup_frequency={self.cleanup_frequency!r}{bound})"
        )
