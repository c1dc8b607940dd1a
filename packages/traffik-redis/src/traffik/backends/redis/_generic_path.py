"""The path for a strategy without a Lua script: a Redis lock around ``GET``, the pure step and ``SET``.

Slower than a script (a lock taken and released, two more round trips) but as
atomic for every process on the namespace. A third-party strategy, or a
subclass of a built-in one (whose ``step()`` may differ from the parent's
script), takes it. The decision is the strategy's own pure step, on the clock
of the backend (wall-clock milliseconds unless ``clock=`` was given), and the
state is stored with the codec of :mod:`traffik.backends.base`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from traffik.backends.base import decode_state, encode_state
from traffik.backends.redis._errors import translate_errors
from traffik.rates import Rate
from traffik.strategies import Decision, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.backends.redis._backend import RedisBackend
    from traffik.backends.redis._client_lifecycle import RedisClient

__all__ = ["NoScript", "locked_decision"]


class NoScript:
    """A strategy with no Lua implementation: it takes the lock-based path."""

    __slots__ = ("state_name", "strategy")
    script: None = None

    def __init__(self, strategy: ThrottleStrategy) -> None:
        self.strategy = strategy
        self.state_name = strategy.NAME


async def locked_decision(
    backend: RedisBackend, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int, *, commit: bool
) -> Decision:
    """A hit (``commit``) or peek of ``cost`` on ``key`` through ``backend``'s lock and the pure step.

    A peek writes nothing, so it takes no lock.
    """
    client = backend._client_here()
    state_key = backend._keys.state_key(key, strategy.NAME)
    if not commit:
        now = backend.clock()
        state = await _load(client, state_key, now)
        return with_reset(strategy.peek(state, now, cost, rate), state, now)
    async with backend.lock(state_key):
        now = backend.clock()
        state = await _load(client, state_key, now)
        new_state, decision = strategy.step(state, now, cost, rate)
        if new_state is not state and new_state is not None:
            ttl = max(1, math.ceil(new_state[0] - now)) + backend.clock_margin_ms
            with translate_errors(f"{strategy.NAME} on key '{key}'"):
                await client.set(state_key, encode_state(new_state), px=ttl)
        return with_reset(decision, new_state, now)


async def _load(client: RedisClient, state_key: str, now: float) -> State | None:
    with translate_errors(f"reading '{state_key}'"):
        raw = await client.get(state_key)
    if raw is None:
        return None
    try:
        state = decode_state(raw)
    except ValueError:
        return None  # not written by this backend: the same as no state
    return state if state and state[0] > now else None
