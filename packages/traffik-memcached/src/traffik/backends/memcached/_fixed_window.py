"""``FixedWindow`` natively: one ``incr`` per hit (per batch of a key's concurrent hits) on a counter per window.

The window's end is part of the key, so a new window is a new key (created by
``add`` with a TTL just past the window's end) and a hit on an existing window
is a single ``incr``. The decision is the pure step's, applied to the count the
``incr`` saw before this hit, so the two never disagree on a sequence of hits.

A hit that does not fit is denied. If the window still had room for a smaller
hit (the count before it was under the limit), its cost is given back with
``decr`` so that a smaller hit can still pass; once the window is full, denied
hits leave their increment (the counter may exceed the limit; it is read as
"full", which it is). Under concurrent hits of *different* costs a denied hit's
passing increment can make another hit see the window fuller than it is: the
error is a spurious denial, never an extra admission.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Final

from traffik.backends.memcached._batching import BatchingRunner, Hit
from traffik.backends.memcached._errors import NonNumericValueError
from traffik.backends.memcached._keys import expiry_seconds
from traffik.exceptions import BackendError, StateContentionError
from traffik.rates import Rate
from traffik.strategies import Decision, FixedWindow, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.backends.memcached._client import MemcachedClient
    from traffik.backends.memcached._native import Target

__all__ = ["FIXED_WINDOW_RUNNER", "FixedWindowRunner"]

_logger = logging.getLogger("traffik")


def _count(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


class FixedWindowRunner(BatchingRunner):
    """The native ``incr``/``add`` implementation of :class:`~traffik.strategies.FixedWindow`.

    A window's concurrent hits in one process are applied as a batch (see
    :mod:`._batching`): one ``incr`` of their total cost, then the pure step of
    each hit in arrival order on the count before the batch, and one ``decr``
    giving back the cost of the hits denied while the window still had room.
    """

    strategy_class: type[ThrottleStrategy] | None = FixedWindow

    async def locate(
        self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, now: float
    ) -> tuple[MemcachedClient, bytes]:
        """The counter of the window the hit arrives in (its end is part of the key)."""
        return await target.locate(FixedWindow.NAME, key, str(int(_window_end(now, rate))))

    async def apply(self, target: Target, client: MemcachedClient, mkey: bytes, batch: list[Hit]) -> list[Decision]:
        """``incr`` the window's counter by the batch's cost (``add`` it in a new window); see the class docstring."""
        # Costs of 0 add nothing and costs above the limit can never fit: those hits only need the count.
        total = sum(hit.cost for hit in batch if 0 < hit.cost <= hit.rate.limit)
        first = batch[0]
        window_end = _window_end(first.arrived, first.rate)
        if not total:
            count = _count(await client.get(mkey))
            before = 0 if count is None else count
        else:
            before = await self._increment(client, mkey, total, window_end - first.arrived, first.key) - total
        decisions: list[Decision] = []
        used, refused = before, 0
        for hit in batch:
            state: State = (_window_end(hit.arrived, hit.rate), min(used, hit.rate.limit))
            decision = with_reset(hit.strategy.step(state, hit.arrived, hit.cost, hit.rate)[1], state, hit.arrived)
            decisions.append(decision)
            if decision.allowed:
                used += hit.cost
            elif 0 < hit.cost <= hit.rate.limit:
                refused += hit.cost
        if refused and before < max(hit.rate.limit for hit in batch):
            # If the give-back fails the denials still stand; the counter stays over by
            # `refused` until the window ends, which can only deny more, never admit more.
            with contextlib.suppress(BackendError):
                await client.decr(mkey, refused)
        return decisions

    async def _increment(self, client: MemcachedClient, mkey: bytes, cost: int, ttl_ms: float, key: str) -> int:
        """The counter after adding ``cost`` (creating the window's counter if needed)."""
        try:
            after = await client.incr(mkey, cost)
            if after is None:
                if await client.add(mkey, b"%d" % cost, expiry_seconds(ttl_ms)):
                    return cost
                after = await client.incr(mkey, cost)  # another hit created the window meanwhile
                if after is None:
                    raise StateContentionError(f"memcached: the window counter of {key!r} vanished twice")
            return after
        except NonNumericValueError as exc:
            # Not a counter (damaged, or written by other software): every incr
            # would fail until it expires, so start the window afresh.
            _logger.warning("resetting an unreadable fixed-window counter under '%s': %s", key, exc)
            await client.set(mkey, b"%d" % cost, expiry_seconds(ttl_ms))
            return cost

    async def peek(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """One ``get`` of the window's counter and the pure peek."""
        now = target.clock()
        window_end = _window_end(now, rate)
        client, mkey = await target.locate(FixedWindow.NAME, key, str(int(window_end)))
        count = _count(await client.get(mkey))
        state = None if count is None else (window_end, min(count, rate.limit))
        return with_reset(strategy.peek(state, now, cost, rate), state, now)


def _window_end(now: float, rate: Rate) -> float:
    expire = rate.expire
    return (now // expire + 1) * expire


FIXED_WINDOW_RUNNER: Final = FixedWindowRunner()
"""What ``traffik_register_strategy_implementations`` registers for ``fixed-window``."""
