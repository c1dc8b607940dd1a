"""A native, mutable :class:`~traffik.strategies.SlidingWindowLog` for the in-memory backend.

The pure step copies its whole ``(expires_at, t1, c1, ..., tn, cn)`` tuple on
every admitted hit, which is O(entries) per hit on a busy key. This log keeps
the same entries in a flat list with a moving head and a running total, so an
admitted hit is O(1) amortised: it appends (or coalesces) one entry, advances
the head past expired ones, and compacts the list only once the dead prefix
is as long as the live part.

It mirrors the reference algorithm decision for decision (a differential test
checks it): entries are dropped exactly when the pure step drops them (on an
admitted hit, or all at once when the log has expired), never on a denied hit,
and waits go through the same rounding helper.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Final

from traffik.rates import Rate
from traffik.strategies import Decision, SlidingWindowLog, State, ThrottleStrategy, with_reset
from traffik.strategies._support import time_until

if TYPE_CHECKING:
    from traffik.backends.inmemory._backend import InMemoryBackend

__all__ = ["NativeLog", "log_hit"]

_SMALL_LOG: Final = 17
"""Longest sliding-window-log tuple kept as is: its expiry and up to 8 (time, cost) entries."""

# Compact once this many list slots are dead and they are at least half the list.
_COMPACT_AFTER = 32


class NativeLog:
    """The mutable log of one key: ``entries[head:]`` is ``t1, c1, ..., tn, cn``."""

    __slots__ = ("entries", "expires_at", "head", "total")

    strategy_class: ClassVar[type[ThrottleStrategy]] = SlidingWindowLog
    """The exact strategy class this log mirrors (see :func:`traffik.backends.base.runs_natively`)."""

    def __init__(self) -> None:
        self.expires_at = -math.inf
        self.entries: list[float] = []
        self.head = 0
        self.total: float = 0
        """Sum of the costs in ``entries[head:]``."""

    @classmethod
    def from_state(cls, state: State) -> NativeLog:
        """The log holding the entries of a pure-step state ``(expires_at, t1, c1, ...)``."""
        log = cls()
        log.entries = list(state[1:])
        log.total = sum(log.entries[1::2])
        log.expires_at = state[0]
        return log

    def hit(self, now: float, cost: int, rate: Rate) -> Decision:
        """Apply one hit; same decision (and same resulting entries) as the pure step."""
        return self._with_reset(self._step(now, cost, rate, True), now)

    def peek(self, now: float, cost: int, rate: Rate) -> Decision:
        """The decision of :meth:`hit`, changing nothing."""
        return self._with_reset(self._step(now, cost, rate, False), now)

    def _with_reset(self, decision: Decision, now: float) -> Decision:
        reset = self.expires_at - now
        if reset > 0:
            decision.reset_ms = reset
        return decision

    def _step(self, now: float, cost: int, rate: Rate, commit: bool) -> Decision:
        expire = rate.expire
        limit = rate.limit
        entries = self.entries
        size = len(entries)
        live = self.expires_at > now
        first = self.head
        used: float = 0
        if live:
            dead: float = 0
            # Bounded by `size`: with a constant rate the newest entry is live,
            # but a shorter window than the one it was logged under can expire them all.
            while first < size and entries[first] + expire <= now:
                dead += entries[first + 1]
                first += 2
            used = self.total - dead
        available = limit - used
        if cost > available:
            if not live or cost > limit:
                return Decision(False, self.expires_at - now if live else float(expire), available)
            excess = cost - available
            index = first
            while True:
                excess -= entries[index + 1]
                if excess <= 0:
                    break
                index += 2
            return Decision(False, time_until(entries[index] + expire, now), available)
        if not cost:
            return Decision(True, 0.0, available)
        if not commit:
            return Decision(True, 0.0, available - cost)
        if not live:
            entries.clear()
            first = 0
            size = 0
        if first < size and entries[-2] == now:
            entries[-1] += cost
        else:
            entries.append(now)
            entries.append(cost)
        if first >= _COMPACT_AFTER and first * 2 >= size:
            del entries[:first]
            first = 0
        self.head = first
        self.total = used + cost
        self.expires_at = now + expire
        return Decision(True, 0.0, available - cost)

    def __bool__(self) -> bool:
        """Whether any entry is stored."""
        return self.head < len(self.entries)

    def as_state(self) -> State:
        """The entries in the strategy's tuple layout ``(expires_at, t1, c1, ...)``."""
        return (self.expires_at, *self.entries[self.head :])

    def __repr__(self) -> str:
        return f"NativeLog({self.as_state()!r})"


def log_hit(
    backend: InMemoryBackend, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, consume: bool
) -> Decision:
    """The in-memory backend's hit (``consume``) or peek of a :class:`~traffik.strategies.SlidingWindowLog`.

    A short log stays the pure step's compact tuple (most keys see a few hits
    per window); once it outgrows :data:`_SMALL_LOG` it moves to a
    :class:`NativeLog`, whose hits are O(1) however long it gets.
    """
    index = hash(key) % backend._slots
    logs = backend._logs[index]
    log = logs.get(key)
    now = backend.clock()
    name = SlidingWindowLog.NAME
    if log is not None:
        if not consume:
            return log.peek(now, cost, rate)
        decision = log.hit(now, cost, rate)
        if backend._spent is not None:
            backend._mark(name, key, decision)
        return decision
    slot = backend._table(name)[index]
    stored = slot.get(key)
    state = stored if stored is not None and stored[0] > now else None
    if not consume:
        return with_reset(strategy.peek(state, now, cost, rate), state, now)
    new_state, decision = strategy.step(state, now, cost, rate)
    if new_state is not state:
        if new_state is None:
            if stored is not None:
                del slot[key]
                backend._forget(name, key)
            return with_reset(decision, new_state, now)
        if stored is None:
            if backend._count >= backend._limit:
                refused = backend._admit_new_key(now)
                if refused is not None:
                    return refused
            backend._count += 1
        if len(new_state) > _SMALL_LOG:
            slot.pop(key, None)
            logs[key] = NativeLog.from_state(new_state)
        else:
            slot[key] = new_state
    elif new_state is None:
        return decision
    if backend._spent is not None:
        backend._mark(name, key, decision)
    return with_reset(decision, new_state, now)
