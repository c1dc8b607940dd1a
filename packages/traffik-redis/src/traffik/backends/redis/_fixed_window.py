"""``FixedWindow`` on Redis: a plain counter per window, no script.

The window's end is part of the key (``<ns>:{<key>}:fixed-window:<window end>``,
see :mod:`traffik.backends.redis._keys`), so a new window is a new key and a hit
is ``SET key 0 PX ttl NX`` + ``INCRBY key cost`` in one round trip: about 2 µs of
Redis time per hit against 6 to 9 µs for the cheapest script (reading the
server's ``TIME`` alone costs a script more than both commands). The ``SET NX``
gives the key its TTL once, when the window's first hit creates it, so no route
ever leaves a counted key without a TTL, and a hit in a live window propagates
one write to replicas and the AOF, not two (see :mod:`~traffik.backends.redis._counters`).

The decision is the pure step's, applied to the count the ``INCRBY`` saw
before this hit, so the two never disagree on a sequence of hits of one rate.
A hit that does not fit is denied; if the window still had room for a smaller
hit (the count before it was under the limit), its cost is given back with
``SET NX`` + ``DECRBY`` (the ``SET NX`` with the hit's TTL, in case the key expired
meanwhile) so that a smaller hit can still pass. Once the window is full,
denied hits leave their increment: the counter may exceed the limit and reads
as "full" (the count is taken as ``min(count, limit)``), which saves a command
per denied hit under a flood. Under concurrent hits a denied hit's passing
increment can make another hit see the window fuller than it is: the error is
a spurious denial, never an extra admission, so a window's admitted cost never
passes the limit.

**Clock.** No single command can read the server's ``TIME`` and increment, so
the window is chosen on the backend's clock (``wall_ms`` unless ``clock=`` was
given). Every key lives ``clock_margin_ms`` past its window's end (its TTL, set by
the hit that creates it, is the window's end minus now plus the margin): an app
instance whose clock lags by less than the margin still counts in the same key.
Window boundaries therefore follow each instance's clock; instances whose clocks
disagree may count a hit near a boundary in different windows, but each window's
count still never passes the limit.

A peek, a hit of cost 0 and a cost over the limit never write: one ``GET``. A
value that is not a counter (another type, text, a negative number: damaged, or
written by other software) is no state: a hit logs a warning and starts the
window afresh with ``SET``.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Final

from traffik.backends.redis._errors import backend_error, translate_errors
from traffik.backends.redis._generic_path import NoScript
from traffik.rates import Rate
from traffik.strategies import Decision, FixedWindow, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.backends.redis._backend import RedisBackend

__all__ = ["FIXED_WINDOW_COUNTER", "CounterCall", "FixedWindowCounter", "counted_decision"]

_logger = logging.getLogger("traffik.backends.redis")
# Error replies meaning the key holds no counter: another type, or a string that is no integer.
_NOT_A_COUNTER: Final = ("WRONGTYPE", "not an integer")
_OVERFLOW: Final = "overflow"  # INCRBY past 2**63: denials left their costs in a full window


class FixedWindowCounter:
    """What traffik-redis registers as its native ``fixed-window``: the counter path of :func:`counted_decision`.

    Attributes:
        strategy: The strategy ``NAME`` it implements.
        strategy_class: The exact class it runs (see :func:`traffik.backends.base.runs_natively`).
    """

    __slots__ = ()
    strategy: Final = FixedWindow.NAME
    strategy_class: type[ThrottleStrategy] | None = FixedWindow

    def __repr__(self) -> str:
        return "FixedWindowCounter()"


FIXED_WINDOW_COUNTER: Final = FixedWindowCounter()
"""What ``traffik_register_strategy_implementations`` registers for ``fixed-window`` on ``redis``."""


class CounterCall(NoScript):
    """A strategy the backend runs with :func:`counted_decision`, as its call cache holds it.

    Scriptless like :class:`NoScript` (``script`` is ``None``); the backend tells the two
    apart by this class.
    """

    __slots__ = ()


async def counted_decision(
    backend: RedisBackend, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, *, commit: bool
) -> Decision:
    """A hit (``commit``) or peek of ``cost`` on ``key``'s counter of the current window; see the module docstring.

    Raises:
        BackendError: Redis failed or timed out (a subclass says which).
    """
    now = backend.clock()
    limit = rate.limit
    expire = rate.expire
    window_end = (now // expire + 1) * expire  # as the pure step computes it
    window_key = backend._keys.window_key(key, int(window_end))
    if not commit or not 0 < cost <= limit:
        return await _read_only(backend, key, window_key, strategy, rate, cost, now, window_end, commit=commit)
    ttl = max(1, math.ceil(window_end - now)) + backend.clock_margin_ms
    try:
        before = await backend._count(window_key, cost, ttl) - cost
    except Exception as exc:
        before = await _after_error(backend, exc, window_key, cost, ttl, limit, key, strategy)
    if before < 0:  # not a count this backend wrote (counts start at 0 and only give back what they took)
        before = await _restart(backend, f"a negative count, {before}", window_key, cost, ttl, key, strategy)
    state: State = (window_end, min(before, limit))
    new_state, decision = strategy.step(state, now, cost, rate)
    if not decision.allowed and before < limit:
        # The window had room for a smaller hit: give this one's cost back. If that fails
        # the counter stays over by `cost` until the window ends: more denials, never more admissions.
        try:
            await backend._uncount(window_key, cost, ttl)
        except Exception as exc:
            if backend_error(exc, "") is None:
                raise
            if isinstance(exc, backend._library.errors.response):
                # Refused, not lost: a setting (an ACL user without DECRBY or SET) that would
                # otherwise only show as more denials than the rate allows for.
                _logger.warning("giving back a denied hit's cost under '%s' failed: %s", window_key, exc)
    return with_reset(decision, new_state, now)


async def _read_only(
    backend: RedisBackend,
    key: str,
    window_key: str,
    strategy: ThrottleStrategy,
    rate: Rate,
    cost: int,
    now: float,
    window_end: float,
    *,
    commit: bool,
) -> Decision:
    """A peek, or a hit that can take nothing (cost 0, or over the limit): one ``GET``, no write."""
    try:
        raw = await backend._read_count(window_key)
    except Exception as exc:
        if not _not_a_counter(backend, exc):
            with translate_errors(f"{strategy.NAME} on key '{key}'"):
                raise exc
        raw = None
    count = _count(raw)
    state: State | None = None if count is None or count < 0 else (window_end, min(count, rate.limit))
    if commit:
        return with_reset(strategy.step(state, now, cost, rate)[1], state, now)
    return with_reset(strategy.peek(state, now, cost, rate), state, now)


async def _after_error(
    backend: RedisBackend,
    exc: Exception,
    window_key: str,
    cost: int,
    ttl: int,
    limit: int,
    key: str,
    strategy: ThrottleStrategy,
) -> int:
    """The count before the hit when ``INCRBY`` failed with ``exc``, or ``exc`` translated."""
    if isinstance(exc, backend._library.errors.response) and _OVERFLOW in str(exc):
        return limit  # only a full window's denials push a counter that far: it reads as full
    if not _not_a_counter(backend, exc):
        with translate_errors(f"{strategy.NAME} on key '{key}'"):
            raise exc
    return await _restart(backend, str(exc), window_key, cost, ttl, key, strategy)


async def _restart(
    backend: RedisBackend, why: str, window_key: str, cost: int, ttl: int, key: str, strategy: ThrottleStrategy
) -> int:
    """Start the window afresh with this hit's ``cost``: the count before it, 0.

    The value is no counter of ours (damaged, or written by other software): every ``INCRBY``
    would fail, or count from it, until it expires.
    """
    _logger.warning("resetting an unreadable fixed-window counter under '%s': %s", window_key, why)
    with translate_errors(f"{strategy.NAME} on key '{key}'"):
        await backend._client_here().set(window_key, cost, px=ttl)
    return 0


def _not_a_counter(backend: RedisBackend, exc: Exception) -> bool:
    if not isinstance(exc, backend._library.errors.response):
        return False
    text = str(exc)
    return any(sign in text for sign in _NOT_A_COUNTER)


def _count(raw: bytes | str | None) -> int | None:
    """The stored count, or ``None`` for no key or a value that is no integer."""
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None
