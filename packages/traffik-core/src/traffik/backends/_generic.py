"""The generic execution path: lock, load, step, store, with corrupt-state recovery.

A backend that implements only :meth:`~traffik.backends.base.ThrottleBackend.load_state`
and :meth:`~traffik.backends.base.ThrottleBackend.store_state` runs every strategy
through :func:`generic_hit` and :func:`generic_peek` (the base class's ``hit`` and
``peek``). :func:`step_or_reset` and :func:`peek_or_reset` are also what native
paths use to survive a stored value a strategy cannot read. The public names are
re-exported by :mod:`traffik.backends.base` (the plugin API).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from traffik.exceptions import ConfigurationError
from traffik.keys import escape_component
from traffik.rates import Rate
from traffik.strategies import UNLIMITED_DECISION, Decision, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.backends.base import ThrottleBackend

__all__ = ["generic_hit", "generic_peek", "load_readable", "peek_or_reset", "step_or_reset", "strategy_state_key"]

_logger = logging.getLogger("traffik.backends.base")  # the logger this path has always used

# What a strategy's step raises when handed a state of another shape (wrong length, wrong values).
_UNREADABLE_STATE_ERRORS = (ValueError, TypeError, IndexError, ArithmeticError)


def step_or_reset(
    strategy: ThrottleStrategy, state: State | None, now: float, cost: int, rate: Rate, key: str = ""
) -> tuple[State | None, Decision]:
    """``strategy.step``, treating a stored state the strategy cannot read as no state.

    A store shared with other software (or damaged) can hold a value that
    decodes to numbers of the wrong shape; the request is then decided as if
    the key were new (its state is overwritten by the result) and a warning is
    logged, instead of failing every request on that key until it expires.
    """
    if state is None:
        return strategy.step(None, now, cost, rate)
    try:
        return strategy.step(state, now, cost, rate)
    except ConfigurationError:
        raise
    except _UNREADABLE_STATE_ERRORS as exc:
        _logger.warning(
            "discarding an unreadable %s state under '%s': %s: %s", strategy.NAME, key, type(exc).__name__, exc
        )
        return strategy.step(None, now, cost, rate)


def peek_or_reset(
    strategy: ThrottleStrategy, state: State | None, now: float, cost: int, rate: Rate, key: str = ""
) -> Decision:
    """``strategy.peek``, treating a stored state the strategy cannot read as no state (see :func:`step_or_reset`)."""
    if state is None:
        return strategy.peek(None, now, cost, rate)
    try:
        return strategy.peek(state, now, cost, rate)
    except ConfigurationError:
        raise
    except _UNREADABLE_STATE_ERRORS as exc:
        _logger.warning(
            "ignoring an unreadable %s state under '%s': %s: %s", strategy.NAME, key, type(exc).__name__, exc
        )
        return strategy.peek(None, now, cost, rate)


async def load_readable(backend: ThrottleBackend, key: str) -> State | None:
    """``backend.load_state(key)``, with a value it cannot decode (``ValueError``) read as no state.

    The hit that follows overwrites it.
    """
    try:
        return await backend.load_state(key)
    except ConfigurationError:
        raise
    except ValueError as exc:
        _logger.warning("%s: discarding an unreadable state under '%s': %s", type(backend).__name__, key, exc)
        return None


async def generic_hit(
    backend: ThrottleBackend, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int
) -> Decision:
    """One hit through ``backend``'s lock, ``load_state``, the pure step and ``store_state``."""
    if rate.unlimited:
        return UNLIMITED_DECISION
    state_key = strategy_state_key(key, strategy)
    async with backend.lock(key):
        now = backend.clock()
        state = await load_readable(backend, state_key)
        if state is not None and state[0] <= now:
            state = None
        new_state, decision = step_or_reset(strategy, state, now, cost, rate, state_key)
        if new_state is not state and new_state is not None:
            await backend.store_state(state_key, new_state, max(1, math.ceil(new_state[0] - now)))
        return with_reset(decision, new_state, now)


async def generic_peek(
    backend: ThrottleBackend, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int
) -> Decision:
    """The decision a hit would get through the generic path, consuming nothing (no lock: nothing is written)."""
    if rate.unlimited:
        return UNLIMITED_DECISION
    state_key = strategy_state_key(key, strategy)
    now = backend.clock()
    state = await load_readable(backend, state_key)
    if state is not None and state[0] <= now:
        state = None
    return with_reset(peek_or_reset(strategy, state, now, cost, rate, state_key), state, now)


def strategy_state_key(key: str, strategy: ThrottleStrategy) -> str:
    """Where the generic path keeps ``strategy``'s state for ``key``: one state per strategy.

    A throttle whose strategy is swapped (``update_strategy``) must not hand the
    old strategy's state to the new one's step, which would read it as garbage.
    Keys are built from escaped components joined by ``:`` (:mod:`traffik.keys`),
    and the name is escaped the same way, so the suffix cannot make two keys meet.
    """
    return f"{key}:{escape_component(strategy.NAME)}"
