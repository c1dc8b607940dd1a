"""A process-local cache of the store's denials: a flooding client stops reaching the store.

Once a shared store (Redis, Memcached, a plugin's) denies a hit of cost ``c`` on a
key with a wait ``w``, every further hit of cost ``>= c`` on that key, with the same
strategy and rate, is denied in this process until ``w`` has passed, without a round
trip. The cache only ever denies, and only for as long as the store said:

* **It never admits** what the store would deny: a key with no live entry goes to the
  store, as without the cache.
* **It never denies what the store would admit**, because of how the built-in
  strategies work. A denial consumes nothing, and for each of the eight built-in
  strategies (fixed window, sliding window counter and log, token bucket with and
  without debt, leaky bucket as a meter and as a queue, GCRA) the time at which a hit
  of cost ``c`` can pass only moves *later* when anyone (another process included)
  consumes, and is no earlier for a larger cost. So "denied with wait ``w`` for cost
  ``c``" holds for every cost ``>= c`` until ``w`` has passed, whatever the other
  processes do, as long as they only hit the key with the same strategy and rate. A
  denial of cost 5 says nothing about cost 1: smaller costs go to the store.
* A cost that can never pass (larger than the limit or the bucket) is not cached: the
  store denies it with the time until the quota is whole again, which *shrinks* when
  others consume (a fresh key answers a full period, a key just hit answers less), so
  a cached wait could outlast the store's. Such hits consume nothing; they go to the store.
* The wait is measured from the moment the hit was *sent* (before the store decided),
  so the local denial ends no later than the store's.

Limits of the guarantee, by design: what refunds quota behind the cache's back is not
seen until the cached wait ends: another process clearing the namespace (its
``persistent=False`` shutdown), Memcached evicting the key, or another process
hitting the key with a different rate during a rolling rate change. Each such local
denial still ends when the store's wait would have. Third-party strategies, and
subclasses of the built-ins (which may override ``step``), are not cached unless
named in ``strategies``.

``peek`` (a throttle's ``check()`` and ``stat()``) is never answered from the cache,
and its answers are not recorded: ``stat()`` reports the store's exact figures, and
``check()`` stays a faithful preview of a hit.

Enable it on a backend: ``RedisBackend(url, deny_cache=True)`` or
``deny_cache=DenyCache(max_entries=...)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from traffik.clock import Clock, monotonic_ms, wall_ms
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    Decision,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)
from traffik.validation import whole_number

if TYPE_CHECKING:
    from traffik.backends.base import ThrottleBackend

__all__ = ["DEFAULT_MAX_ENTRIES", "MONOTONE_STRATEGIES", "DenyCache"]

DEFAULT_MAX_ENTRIES: Final = 10_000
"""Denials a :class:`DenyCache` keeps by default (the least recently used go first)."""

MONOTONE_STRATEGIES: Final[frozenset[type[ThrottleStrategy]]] = frozenset(
    {
        FixedWindow,
        SlidingWindowCounter,
        SlidingWindowLog,
        TokenBucket,
        TokenBucketWithDebt,
        LeakyBucket,
        LeakyBucketWithQueue,
        GCRA,
    }
)
"""The strategy classes whose denials hold until their wait has passed, whatever others consume.

Matched by exact class: a subclass may override ``step``.
"""

_OWNER: Final = "DenyCache"
_MAX_ENTRIES: Final = whole_number(min=1).described("a whole number >= 1")

Hit = Callable[[str, ThrottleStrategy, Rate, int], Awaitable[Decision]]
_Key = tuple[str, int, Rate]


class _Entry:
    """One denial: hits of ``cost`` or more are denied until ``until`` (cache clock, ms)."""

    __slots__ = ("cost", "metadata", "reset_at", "strategy", "until")

    def __init__(
        self,
        strategy: ThrottleStrategy,
        cost: int,
        until: float,
        reset_at: float,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        # The strategy is held so its id (part of the cache key) cannot be reused
        # by another object while this entry lives.
        self.strategy = strategy
        self.cost = cost
        self.until = until
        self.reset_at = reset_at
        self.metadata = metadata

    def decision(self, now: float) -> Decision:
        """The store's denial with its waits counted down to ``now``, and nothing left to spend.

        ``hits_remaining`` is ``0``: what the store reported (the units left below the
        cost) has since changed as others consumed or the quota refilled, and the cache
        cannot know it without asking; for the usual cost of 1 it is what the store says.
        """
        wait = self.until - now
        decision = Decision(False, wait, 0, self.metadata)
        reset = self.reset_at - now
        decision.reset_ms = reset if reset > wait else wait
        return decision


def _check_strategies(value: object) -> frozenset[type[ThrottleStrategy]]:
    classes = tuple(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else None
    if classes is None or not all(isinstance(item, type) and issubclass(item, ThrottleStrategy) for item in classes):
        raise ConfigurationError(
            f"{_OWNER}: strategies must be an iterable of ThrottleStrategy classes or None, got {value!r}"
        )
    return frozenset(classes)


class DenyCache:
    """A bounded, process-local memory of the store's recent denials, for one backend.

    Args:
        max_entries: Denials kept at most; the least recently used is dropped first, and
            an entry whose wait has passed is dropped when next looked up.
        strategies: The strategy classes (exact classes) whose denials are cached;
            ``None`` means :data:`MONOTONE_STRATEGIES`, the eight built-in ones. Name a
            third-party class only if a denial of cost ``c`` with wait ``w`` guarantees
            every hit of cost ``>= c`` is denied for ``w`` whatever else is consumed.

    Attributes:
        local_denials: Hits this cache denied without asking the store.

    Raises:
        ConfigurationError: A parameter is invalid; the message names it and its value.

    A cache belongs to one backend (the keys of two stores must not mix): give
    each backend its own. The backend's ``clear()`` and ``reset()`` empty it.

    Example:
        >>> import asyncio
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.clock import ManualClock
        >>> from traffik.strategies import FixedWindow
        >>> async def demo():
        ...     cache = DenyCache(max_entries=1_000)
        ...     backend = InMemoryBackend(clock=ManualClock(0.0), deny_cache=cache)
        ...     rate, strategy = Rate.parse("1/s"), FixedWindow()
        ...     decisions = [await backend.hit("client", strategy, rate) for _ in range(3)]
        ...     return [d.allowed for d in decisions], cache.local_denials
        >>> asyncio.run(demo())
        ([True, False, False], 1)
    """

    __slots__ = ("_entries", "_owner", "local_denials", "max_entries", "strategies")

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        strategies: Iterable[type[ThrottleStrategy]] | None = None,
    ) -> None:
        self.max_entries: int = _MAX_ENTRIES(_OWNER, "max_entries", max_entries)
        self.strategies: frozenset[type[ThrottleStrategy]] = (
            MONOTONE_STRATEGIES if strategies is None else _check_strategies(strategies)
        )
        self.local_denials = 0
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._owner: ThrottleBackend | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every denial (the backend's ``clear()`` and ``reset()`` call it)."""
        self._entries.clear()

    def attach(self, backend: ThrottleBackend) -> None:
        """Route ``backend``'s hits through this cache, and empty it when ``backend`` is cleared.

        Called by :class:`~traffik.backends.base.ThrottleBackend` for its ``deny_cache``
        option. The backend's ``hit`` and ``clear`` are replaced on the instance, so every
        caller (throttles, failover, direct calls) goes through the cache, and a backend
        without one pays nothing.

        Raises:
            ConfigurationError: This cache already serves another backend.
        """
        if self._owner is not None and self._owner is not backend:
            raise ConfigurationError(
                f"{type(backend).__name__}: deny_cache must be a DenyCache no other backend uses, got {self!r} "
                f"(already used by {self._owner!r})"
            )
        self._owner = backend
        store_hit: Hit = backend.hit
        store_clear: Callable[[], Awaitable[None]] = backend.clear

        def clock() -> Clock:
            # Only durations matter here: a wall clock (the default of shared stores,
            # which may jump) is replaced by the monotonic one; an injected clock is kept.
            chosen = backend.clock
            return monotonic_ms if chosen is wall_ms else chosen

        async def hit(key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
            entries = self._entries
            read = clock()
            if entries:  # nothing to look up while no key is denied: the common case costs one test
                denied = self._lookup((key, id(strategy), rate), cost, read(), rate)
                if denied is not None:
                    return denied
            sent = read()
            decision = await store_hit(key, strategy, rate, cost)
            if not decision.allowed:
                self._record(key, strategy, rate, cost, sent, decision)
            elif entries and cost:
                self._forget_refuted((key, id(strategy), rate), cost)
            return decision

        async def clear() -> None:
            self._entries.clear()
            try:
                await store_clear()
            finally:
                self._entries.clear()  # denials recorded by hits in flight during the clear

        backend.__dict__["hit"] = hit
        backend.__dict__["clear"] = clear

    def _lookup(self, key: _Key, cost: int, now: float, rate: Rate) -> Decision | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now >= entry.until:
            del self._entries[key]
            return None
        if cost < entry.cost:
            return None
        if cost > entry.cost and not entry.strategy.peek(None, now, cost, rate).allowed:
            return None  # a cost that can never pass: its wait is the store's to say (module docstring)
        self._entries.move_to_end(key)
        self.local_denials += 1
        return entry.decision(now)

    def _record(
        self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, sent: float, decision: Decision
    ) -> None:
        wait = decision.wait_ms
        if wait <= 0 or type(strategy) not in self.strategies:
            return
        if not strategy.peek(None, sent, cost, rate).allowed:
            return  # a cost that can never pass: see the module docstring
        entries = self._entries
        cache_key = (key, id(strategy), rate)
        until = sent + wait
        old = entries.get(cache_key)
        # Two denials of one key: keep the one that answers more hits (the smaller
        # cost), and of equal costs the one that lasts longer.
        if old is not None and sent < old.until and (old.cost, -old.until) <= (cost, -until):
            return
        entries[cache_key] = _Entry(strategy, cost, until, sent + decision.reset_ms, decision.metadata)
        entries.move_to_end(cache_key)
        if len(entries) > self.max_entries:
            entries.popitem(last=False)

    def _forget_refuted(self, key: _Key, cost: int) -> None:
        # The store admitted a cost the entry would have denied: the store forgot the
        # key (cleared by another process, evicted). Trust the store from now on.
        entry = self._entries.get(key)
        if entry is not None and cost >= entry.cost:
            del self._entries[key]

    def __repr__(self) -> str:
        return f"DenyCache(max_entries={self.max_entries!r}, entries={len(self._entries)})"
