"""``FixedWindow`` natively: one ``incr`` per hit on a counter per window.

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

from traffik.backends.memcached._errors import NonNumericValueError
from traffik.backends.memcached._keys import expiry_seconds
from traffik.exceptions import BackendError, StateContentionError
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.strategies._base import Decision, State, ThrottleStrategy, with_reset

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


class FixedWindowRunner:
    """The native ``incr``/``add`` implementation of :class:`~traffik.strategies.FixedWindow`."""

    strategy_class: type[ThrottleStrategy] | None = FixedWindow

    async def _window(self, target: Target, key: str, rate: Rate) -> tuple[MemcachedClient, bytes, float, float]:
        now = target.clock()
        expire = rate.expire
        window_end = (now // expire + 1) * expire
        client, mkey = await target.locate(FixedWindow.NAME, key, str(int(window_end)))
        return client, mkey, window_end, now

    async def hit(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """``incr`` the window's counter (``add`` it first in a new window); see the module docstring."""
        client, mkey, window_end, now = await self._window(target, key, rate)
        limit = rate.limit
        if cost == 0 or cost > limit:
            # Nothing to add (cost 0), or can never fit: the pure step only needs the count.
            count = _count(await client.get(mkey))
            before = 0 if count is None else count
        else:
            try:
                after = await client.incr(mkey, cost)
                if after is None:
                    if await client.add(mkey, b"%d" % cost, expiry_seconds(window_end - now)):
                        after = cost
                    else:  # another hit created the window meanwhile
                        after = await client.incr(mkey, cost)
                        if after is None:
                            raise StateContentionError(f"memcached: the window counter of {key!r} vanished twice")
            except NonNumericValueError as exc:
                # Not a counter (damaged, or written by other software): every incr
                # would fail until it expires, so start the window afresh.
                _logger.warning("resetting an unreadable fixed-window counter under %r: %s", key, exc)
                await client.set(mkey, b"%d" % cost, expiry_seconds(window_end - now))
                after = cost
            before = after - cost
            if after > limit and before < limit:
                # If the give-back fails the denial still stands; the counter stays over
                # by `cost` until the window ends, which can only deny more, never admit more.
                with contextlib.suppress(BackendError):
                    await client.decr(mkey, cost)
        state: State = (window_end, min(before, limit))
        return with_reset(strategy.step(state, now, cost, rate)[1], state, now)

    async def peek(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """One ``get`` of the window's counter and the pure peek."""
        client, mkey, window_end, now = await self._window(target, key, rate)
        count = _count(await client.get(mkey))
        state = None if count is None else (window_end, min(count, rate.limit))
        return with_reset(strategy.peek(state, now, cost, rate), state, now)


FIXED_WINDOW_RUNNER: Final = FixedWindowRunner()
"""What ``traffik_register_strategy_implementations`` registers for ``fixed-window``."""
