"""Where the in-memory backend keeps its states, how it sweeps them in slices, and how it makes room.

**Layout.** States are kept per strategy (a table per strategy ``NAME``, as
Redis and Memcached keep a key per strategy), so a throttle whose strategy is
swapped starts the new strategy afresh instead of feeding it the old one's
state. Each table is split into ``number_of_shards * SEGMENTS`` small
dictionaries (*slots*): a key's slot is ``hash(key) % slots``, and slot ``s``
belongs to shard ``s % number_of_shards``. Long sliding-window logs live in
their own slots (see :mod:`._sliding_log`).

**Sweeping in slices.** A sweep of one shard walks its slots a slice at a
time: a slot of at most ``slice_keys`` keys is checked at once, a bigger one
through a snapshot of its keys, ``slice_keys`` at a time. The caller yields to
the event loop between slices, so no sweep holds the loop for more than one
slice, however many keys there are.

**Making room** (only with ``max_keys``). When a new key would exceed the bound,
keys are examined a few at a time, in a rotating order over every slot:

1. an expired key is dropped (that is room, for free);
2. otherwise the examined key whose state expires soonest is evicted, among
   those that are **not spent**: a key is spent when its last hit was denied
   or left less than one hit of quota. A spent client is never evicted, so
   eviction never lets a throttled client back in early; an evicted one
   starts over with a full quota, which is the price of the bound;
3. if every examined key is spent, nothing is evicted and the new key is
   refused: its hit is denied until the soonest of them expires.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Union

from traffik.backends.inmemory._sliding_log import NativeLog
from traffik.strategies._base import State

__all__ = ["EXAMINE_MAX", "EXAMINE_PER_TURN", "SEGMENTS", "RoomMaker", "Slot", "expiry_of", "sweep_slices"]

SEGMENTS: Final = 64
"""Slots per shard: keeps each dictionary small, so a sweep slice is a whole slot most of the time."""

EXAMINE_PER_TURN: Final = 16
"""Keys examined at once when making room: the best candidate among them is evicted."""

EXAMINE_MAX: Final = 256
"""Keys examined for one new key before it is refused (every one of them spent)."""

Stored = Union[State, NativeLog]
Slot = dict[str, Any]
"""One dictionary of states (``key -> State``) or of native logs (``key -> NativeLog``)."""


def expiry_of(stored: Stored) -> float:
    """When a stored state or native log expires."""
    if type(stored) is NativeLog:
        return stored.expires_at
    return stored[0]  # type: ignore[index]  # a State tuple; NativeLog is excluded above


def _expired_keys(slot: Slot, keys: Iterable[str], now: float) -> list[str]:
    """The keys of ``keys`` still in ``slot`` whose state has expired by ``now``."""
    # One kind per slot: decide it once, not per key (this loop is the sweep's whole cost).
    sample = next(iter(slot.values()), None)
    if type(sample) is NativeLog:
        return [key for key in keys if (log := slot.get(key)) is not None and log.expires_at <= now]
    return [key for key in keys if (state := slot.get(key)) is not None and state[0] <= now]


def sweep_slices(
    slots: list[tuple[str, Slot]],
    clock: Callable[[], float],
    slice_keys: int,
    on_drop: Callable[[str, list[str]], None],
) -> Iterator[int]:
    """Drop the expired keys of ``slots``, yielding after each slice the number of keys it examined.

    ``on_drop(strategy_name, keys)`` is told of the keys dropped, a part of a
    slot at a time. Every part reads the clock afresh. Safe to interleave with
    hits: a part works on its slot as it is when the part starts.
    """
    examined = 0
    for name, slot in slots:
        size = len(slot)
        if not size:
            continue
        if size <= slice_keys:
            if examined + size > slice_keys:
                yield examined
                examined = 0
            parts: Iterable[list[str]] = (list(slot),)
        else:
            if examined:
                yield examined
                examined = 0
            keys = list(slot)
            parts = (keys[start : start + slice_keys] for start in range(0, size, slice_keys))
        for part in parts:
            expired = _expired_keys(slot, part, clock())
            if expired:
                for key in expired:
                    del slot[key]
                on_drop(name, expired)
            examined += len(part)
            if size > slice_keys:
                yield examined
                examined = 0
    if examined:
        yield examined


class RoomMaker:
    """Frees one key of a full backend by the rule of the module docstring, examining keys in rotation.

    A scan examines up to ``EXAMINE_MAX`` keys, continuing where the last one
    stopped: it drops every expired key it meets, and remembers the live keys
    that are not spent as candidates, soonest expiry first. Later calls evict
    from those candidates (re-checked, as a hit may have changed them) until
    none is left, then scan again: about one examined key per eviction.
    """

    __slots__ = ("_candidates", "_keys", "_position", "_slot", "_slot_index", "_tiebreak")

    def __init__(self) -> None:
        self._slot_index = -1
        self._slot: tuple[str, Slot] | None = None
        self._keys: list[str] = []
        self._position = 0
        self._candidates: list[tuple[float, int, str, Slot, str]] = []
        self._tiebreak = itertools.count()

    def reset(self) -> None:
        """Forget the rotation and the candidates (after a clear)."""
        self._slot, self._keys, self._position = None, [], 0
        self._candidates.clear()

    def _next_keys(self, slots: list[tuple[str, Slot]]) -> list[tuple[str, Slot, str]]:
        """Up to ``EXAMINE_PER_TURN`` keys, continuing where the last call stopped."""
        if self._position >= len(self._keys):
            # Move on to the next non-empty slot and snapshot its keys (a slot is small).
            for _ in range(len(slots)):
                self._slot_index = (self._slot_index + 1) % len(slots)
                name, slot = slots[self._slot_index]
                if slot:
                    self._slot, self._keys, self._position = (name, slot), list(slot), 0
                    break
            else:
                return []
        assert self._slot is not None
        name, slot = self._slot
        part = self._keys[self._position : self._position + EXAMINE_PER_TURN]
        self._position += len(part)
        return [(name, slot, key) for key in part]

    def _evict_candidate(self, spent: set[tuple[str, str]], now: float) -> bool:
        """Evict the remembered candidate that expires soonest and is still evictable."""
        candidates = self._candidates
        while candidates:
            expiry, _, name, slot, key = heapq.heappop(candidates)
            stored = slot.get(key)
            # A hit since the scan may have changed it (new expiry, now spent): skip it then.
            if stored is None or expiry_of(stored) != expiry or (name, key) in spent:
                continue
            del slot[key]
            return True
        return False

    def _scan(self, slots: list[tuple[str, Slot]], spent: set[tuple[str, str]], now: float) -> tuple[int, float]:
        """Examine the next keys: drop the expired, remember the evictable; returns (dropped, soonest spent expiry)."""
        soonest_spent = math.inf
        dropped = examined = looked = 0
        # `looked` also counts keys deleted since their slot was snapshot, so the loop always ends.
        while examined < EXAMINE_MAX and looked < 4 * EXAMINE_MAX:
            batch = self._next_keys(slots)
            if not batch:
                break
            for name, slot, key in batch:
                looked += 1
                stored = slot.get(key)
                if stored is None:
                    continue
                examined += 1
                expiry = expiry_of(stored)
                if expiry <= now:
                    del slot[key]
                    spent.discard((name, key))
                    dropped += 1
                elif (name, key) in spent:
                    soonest_spent = min(soonest_spent, expiry)
                else:
                    heapq.heappush(self._candidates, (expiry, next(self._tiebreak), name, slot, key))
        return dropped, soonest_spent

    def make_room(self, slots: list[tuple[str, Slot]], spent: set[tuple[str, str]], now: float) -> tuple[int, float]:
        """Drop expired keys or evict one live key that is not spent.

        Returns:
            ``(freed, 0.0)`` with the number of keys freed, or ``(0, wait_ms)``
            when every examined key is spent: the new key must be refused for
            ``wait_ms``, until the soonest of them expires.
        """
        if self._evict_candidate(spent, now):
            return 1, 0.0
        dropped, soonest_spent = self._scan(slots, spent, now)
        if dropped:
            return dropped, 0.0
        if self._evict_candidate(spent, now):
            return 1, 0.0
        return 0, max(soonest_spent - now, 1.0) if math.isfinite(soonest_spent) else 1_000.0
