"""How the backend runs a strategy: the contract, and the generic ``gets``/``cas`` loop.

Memcached has no scripting, so the only way to apply an arbitrary strategy
atomically is optimistic concurrency: read the state with its CAS token, run
the strategy's pure step in Python, and write the new state only if nobody
wrote in between (``cas``; ``add`` for a fresh key); otherwise read again.
This is exactly the pure step, applied in some serial order, for *every*
strategy.

**Contention is not a store failure.** Concurrent hits on one key in this
process never race each other: the first runs at once, and the hits that
arrive while it is in flight queue behind it and are then applied together,
in arrival order, in *one* ``gets``/``cas`` round (a batch of pure steps on
one read state, one write). However many tasks hit a key, it costs about two
rounds per batch, so a client's own concurrency cannot push a hit past its
timeout. Only other processes can make ``cas`` lose; a lost race is retried
after a jittered exponential backoff, at most ``max_retries`` times, and if
every retry is lost the hits are *denied* with a short wait: never admitted
beyond the limit, and never raised as a backend error that ``on_error``
could turn into an admission.

Strategies with a cheaper native path (``FixedWindow``: one ``incr``) provide
a :class:`StrategyRunner` through the ``traffik_register_strategy_implementations``
hook.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Final, Protocol

from traffik.backends.base import decode_state, encode_state, peek_or_reset, step_or_reset
from traffik.backends.memcached._batching import MAX_BATCH, BatchingRunner, Hit
from traffik.backends.memcached._keys import expiry_seconds
from traffik.rates import Rate
from traffik.strategies import Decision, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.backends.memcached._client import MemcachedClient
    from traffik.clock import Clock

__all__ = ["CAS_RUNNER", "CONTENTION_WAIT_MS", "MAX_BATCH", "CasRunner", "StrategyRunner", "Target"]

_logger = logging.getLogger("traffik.backends.memcached")

# Backoff between lost races: jittered and exponential, so contenders spread
# out instead of colliding again on the next round trip.
_BACKOFF_BASE_S: Final = 0.000_2
_BACKOFF_CAP_S: Final = 0.005

CONTENTION_WAIT_MS: Final = 1_000.0
"""Wait announced to hits denied because other processes won every ``cas`` race on their key."""


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


class CasRunner(BatchingRunner):
    """Runs any strategy's pure step in a ``gets``/``cas`` retry loop, batching a key's concurrent hits.

    One ``gets`` for a denied hit, ``gets`` + ``cas`` (or ``add``) for an
    admitted one, plus one round per race lost to another process. Hits that
    arrive while their key has a round in flight share the next round.
    """

    strategy_class: type[ThrottleStrategy] | None = None

    async def locate(
        self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, now: float
    ) -> tuple[MemcachedClient, bytes]:
        """The state's server and key: one per strategy and throttle key."""
        return await target.locate(strategy.NAME, key)

    def step(
        self, strategy: ThrottleStrategy, state: State | None, now: float, cost: int, rate: Rate, key: str
    ) -> tuple[State | None, Decision]:
        """The pure step of one hit (a subclass may bound the state it produces)."""
        return step_or_reset(strategy, state, now, cost, rate, key)

    async def apply(self, target: Target, client: MemcachedClient, mkey: bytes, batch: list[Hit]) -> list[Decision]:
        """Apply ``batch`` in order on one read state with one write; retry the round on a lost race."""
        clock, retries = target.clock, target.max_retries
        step = self.step
        for attempt in range(retries + 1):
            raw, token = await client.gets(mkey)
            now = clock()
            read = state = _live(raw, now)
            decisions: list[Decision] = []
            for hit in batch:
                new_state, decision = step(hit.strategy, state, now, hit.cost, hit.rate, hit.key)
                decisions.append(with_reset(decision, new_state, now))
                if new_state is not None:
                    state = new_state
            if state is read or state is None:
                return decisions  # every hit denied, or nothing to record: no write
            value, exptime = encode_state(state), expiry_seconds(state[0] - now)
            if token is None:
                stored = await client.add(mkey, value, exptime)
            else:
                stored = await client.cas(mkey, value, token, exptime)
            if stored:
                return decisions
            if attempt < retries:
                await asyncio.sleep(random.uniform(0.0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))
        # Other processes won every race. Denying is the one answer that never admits
        # beyond the limit; an error would let on_error="allow" admit everyone.
        _logger.warning(
            "memcached: %d hits on %r lost %d cas races to other writers; denied for now",
            len(batch),
            batch[0].key,
            retries + 1,
        )
        return [Decision(False, CONTENTION_WAIT_MS, 0) for _ in batch]

    async def peek(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """One ``get`` and the pure peek."""
        client, mkey = await target.locate(strategy.NAME, key)
        raw = await client.get(mkey)
        now = target.clock()
        state = _live(raw, now)
        return with_reset(peek_or_reset(strategy, state, now, cost, rate, key), state, now)


CAS_RUNNER: Final = CasRunner()
"""The runner for every strategy without a native one."""
