"""FixedWindow's admitted hit without a :class:`~traffik.strategies.Decision`, for a caller that needs none.

A throttle's quiet lane (no headers, no observer) only asks whether a hit
passed. Building the decision of an admitted hit (an object of five fields)
and dispatching on the strategy cost more than the count itself, so the lane
asks the in-memory backend for an *admitter* once and calls it per hit: the
same arithmetic as :meth:`~traffik.strategies.FixedWindow.step` on a live
window with room, and nothing at all otherwise. A hit it does not take goes
to the backend's full step, which decides it (a new window, a denial).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from traffik.clock import monotonic_ms
from traffik.rates import Rate
from traffik.strategies import FixedWindow, ThrottleStrategy

if TYPE_CHECKING:
    from traffik.backends.inmemory._backend import InMemoryBackend

__all__ = ["Admitter", "window_admitter"]

Admitter = Callable[[str], bool]
"""``admit(key)``: ``True`` when the hit was admitted and counted; ``False`` when nothing was written."""


def window_admitter(backend: InMemoryBackend, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Admitter | None:
    """The admitter of hits of ``cost`` under ``rate`` on ``backend``; ``None`` where it would not be exact.

    Only the exact :class:`~traffik.strategies.FixedWindow` (a subclass may
    change the step), a finite rate, a cost from 1 to the limit, and a
    backend without ``max_keys`` (the bound records every decision to know
    which keys are spent, so each hit takes the full step).
    """
    if type(strategy) is not FixedWindow or rate.unlimited or backend._spent is not None:
        return None
    if type(cost) is not int or not 0 < cost <= rate.limit:
        return None
    # Slots are emptied in place, never replaced (clear(), the sweep), so the table can be kept.
    table = backend._table(strategy.NAME)
    slots = backend._slots
    room = rate.limit - cost  # a window whose count is at most this admits the hit
    monotonic = time.monotonic  # noqa: TID251

    def admit(key: str) -> bool:
        slot = table[hash(key) % slots]
        stored = slot.get(key)
        if stored is None:
            return False
        window_end, count = stored
        clock = backend.clock  # read per hit: a test may swap the backend's clock
        # monotonic_ms() without its call, as the backend's own step reads it.
        if count > room or window_end <= (monotonic() * 1000.0 if clock is monotonic_ms else clock()):
            return False
        slot[key] = (window_end, count + cost)
        return True

    return admit
