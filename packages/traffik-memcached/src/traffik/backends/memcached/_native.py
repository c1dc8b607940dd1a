"""How the backend runs a strategy: the contract, and the generic ``gets``/``cas`` loop.

Memcached has no scripting, so the only way to apply an arbitrary strategy
atomically is optimistic concurrency: read the state with its CAS token, run
the strategy's pure step in Python, and write the new state only if nobody
wrote in between (``cas``; ``add`` for a fresh key); otherwise read again.
This is exactly the pure step, applied in some serial order, for *every*
strategy. Contention is bounded: after ``max_retries`` lost races the hit
fails with :class:`~traffik.exceptions.StateContentionError`, which the
throttle's ``on_error`` then handles.

Strategies with a cheaper native path (``FixedWindow``: one ``incr``) provide
a :class:`StrategyRunner` through the ``traffik_register_strategy_implementations``
hook.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Final, Protocol

from traffik.backends.base import decode_state, encode_state, peek_or_reset, step_or_reset
from traffik.backends.memcached._keys import expiry_seconds
from traffik.exceptions import StateContentionError
from traffik.rates import Rate
from traffik.strategies._base import Decision, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.backends.memcached._client import MemcachedClient
    from traffik.clock import Clock

__all__ = ["CAS_RUNNER", "CasRunner", "StrategyRunner", "Target"]

# Backoff between lost races: jittered and exponential, so contenders spread
# out instead of colliding again on the next round trip.
_BACKOFF_BASE_S: Final = 0.000_2
_BACKOFF_CAP_S: Final = 0.005


class Target(Protocol):
    """What a backend gives a runner: its clock, and where a key lives."""

    @property
    def clock(self) -> Clock:
        """The backend's milliseconds clock."""
        ...

    @property
    def max_retries(self) -> int:
        """Lost CAS races allowed before giving up."""
        ...

    async def locate(self, *parts: str) -> tuple[MemcachedClient, bytes]:
        """The server and the memcached key of a state identified by ``parts``."""
        ...


class StrategyRunner(Protocol):
    """Applies one kind of strategy to memcached (a native implementation)."""

    @property
    def strategy_class(self) -> type[ThrottleStrategy] | None:
        """The exact strategy class this runner implements (``None``: any)."""
        ...

    async def hit(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """Apply one hit atomically and return its decision."""
        ...

    async def peek(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """The decision a hit would get now, consuming nothing."""
        ...


def _live(raw: bytes | None, now: float) -> State | None:
    if raw is None:
        return None
    try:
        state = decode_state(raw)
    except ValueError:
        return None  # not ours or corrupt: overwritten by the next admitted hit
    return state if state and state[0] > now else None


class CasRunner:
    """Runs any strategy's pure step in a ``gets``/``cas`` retry loop.

    One ``gets`` for a denied hit, ``gets`` + ``cas`` (or ``add``) for an
    admitted one, plus one round per lost race.
    """

    strategy_class: type[ThrottleStrategy] | None = None

    async def hit(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """Read, step, compare-and-swap; retry on a lost race (bounded)."""
        client, mkey = await target.locate(strategy.NAME, key)
        clock, retries = target.clock, target.max_retries
        for attempt in range(retries + 1):
            raw, token = await client.gets(mkey)
            now = clock()
            state = _live(raw, now)
            new_state, decision = step_or_reset(strategy, state, now, cost, rate, key)
            if new_state is state or new_state is None:
                return with_reset(decision, new_state, now)  # denied, or nothing to record: no write
            value, exptime = encode_state(new_state), expiry_seconds(new_state[0] - now)
            if token is None:
                stored = await client.add(mkey, value, exptime)
            else:
                stored = await client.cas(mkey, value, token, exptime)
            if stored:
                return with_reset(decision, new_state, now)
            if attempt < retries:
                await asyncio.sleep(random.uniform(0.0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))
        raise StateContentionError(
            f"memcached: {retries + 1} attempts to update {strategy.NAME} state of {key!r} all lost a race "
            f"(raise max_retries, or spread the load over more keys)"
        )

    async def peek(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """One ``get`` and the pure peek."""
        client, mkey = await target.locate(strategy.NAME, key)
        raw = await client.get(mkey)
        now = target.clock()
        state = _live(raw, now)
        return with_reset(peek_or_reset(strategy, state, now, cost, rate, key), state, now)


CAS_RUNNER: Final = CasRunner()
"""The runner for every strategy without a native one."""
