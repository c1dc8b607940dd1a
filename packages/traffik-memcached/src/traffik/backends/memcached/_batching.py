"""One round at a time per key: a key's concurrent hits in this process queue up and are applied together.

Hits on one memcached key from one process never need to race each other
(losing ``cas`` races, or waiting for pooled connections, until a timeout turns
a client's own burst into backend errors). The first hit on an idle key runs
at once, in its caller's task; hits that arrive while it is in flight queue
up, and a drainer task applies them together, in arrival order, in the next
round (one ``gets``/``cas``, or one ``incr``), then the next batch, until the
queue is empty. However many tasks hit a key, each waits about two rounds.

A caller that gives up while queued (timeout, cancellation) is dropped before
its hit is applied, so it consumes nothing. If a round fails (the store did
not answer), every hit of that round gets the error.
"""

from __future__ import annotations

import abc
import asyncio
from typing import TYPE_CHECKING, Final

from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy

if TYPE_CHECKING:
    from traffik.backends.memcached._client import MemcachedClient
    from traffik.backends.memcached._native import Target

__all__ = ["MAX_BATCH", "BatchingRunner", "Hit"]

MAX_BATCH: Final = 512
"""Most queued hits applied in one round (bounds the synchronous work per round)."""


class Hit:
    """One queued hit and the future its caller awaits."""

    __slots__ = ("arrived", "cost", "future", "key", "rate", "strategy")

    def __init__(
        self,
        strategy: ThrottleStrategy,
        rate: Rate,
        cost: int,
        key: str,
        arrived: float,
        future: asyncio.Future[Decision] | None,
    ) -> None:
        self.strategy, self.rate, self.cost, self.key, self.future = strategy, rate, cost, key, future
        self.arrived = arrived
        """The backend's clock when the hit arrived."""


class _Queue:
    """The hits of one memcached key waiting behind the one in flight (in this process and loop)."""

    __slots__ = ("current", "drainer", "loop", "pending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[Hit] = []
        self.current: list[Hit] = []
        """The batch being applied."""
        self.drainer: asyncio.Task[None] | None = None


class BatchingRunner(abc.ABC):
    """A strategy runner whose concurrent hits on one key are applied in batches (see the module docstring)."""

    def __init__(self) -> None:
        self._queues: dict[tuple[MemcachedClient, bytes], _Queue] = {}

    @abc.abstractmethod
    async def locate(
        self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, now: float
    ) -> tuple[MemcachedClient, bytes]:
        """The server and memcached key a hit arriving at ``now`` applies to (hits of one key are batched together)."""

    @abc.abstractmethod
    async def apply(self, target: Target, client: MemcachedClient, mkey: bytes, batch: list[Hit]) -> list[Decision]:
        """Apply ``batch`` atomically, in order, and return one decision per hit."""

    async def hit(self, target: Target, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        """Apply one hit: at once if its key is idle, else in the next batch of that key."""
        arrived = target.clock()
        client, mkey = await self.locate(target, key, strategy, rate, arrived)
        slot = (client, mkey)
        loop = asyncio.get_running_loop()
        queue = self._queues.get(slot)
        if queue is not None and queue.loop is loop:
            future: asyncio.Future[Decision] = loop.create_future()
            queue.pending.append(Hit(strategy, rate, cost, key, arrived, future))
            return await future
        # The key is idle: this hit runs in its caller's task (no task is created on
        # the uncontended path); hits arriving meanwhile queue up for a drainer.
        queue = self._queues[slot] = _Queue(loop)
        try:
            return (await self.apply(target, client, mkey, [Hit(strategy, rate, cost, key, arrived, None)]))[0]
        finally:
            if queue.pending:
                # A task of its own, so that no caller's cancellation strands the others.
                queue.drainer = loop.create_task(self._drain(target, client, slot, queue))
                queue.drainer.add_done_callback(lambda _: self._abandon(slot, queue))
            elif self._queues.get(slot) is queue:
                del self._queues[slot]

    async def _drain(
        self, target: Target, client: MemcachedClient, slot: tuple[MemcachedClient, bytes], queue: _Queue
    ) -> None:
        while queue.pending:
            # Callers that gave up (timed out, cancelled) are dropped before they consume anything.
            waiting = [hit for hit in queue.pending if hit.future is not None and not hit.future.done()]
            batch, queue.pending = waiting[:MAX_BATCH], waiting[MAX_BATCH:]
            queue.current = batch
            if not batch:
                continue
            try:
                decisions = await self.apply(target, client, slot[1], batch)
            except Exception as exc:  # the store failed: every hit of this round sees the error
                for hit in batch:
                    if hit.future is not None and not hit.future.done():
                        hit.future.set_exception(exc)
                continue
            for hit, decision in zip(batch, decisions, strict=True):
                if hit.future is not None and not hit.future.done():
                    hit.future.set_result(decision)
        queue.current = []
        # At once, not in the done callback: a hit arriving in between would join a dead queue.
        if self._queues.get(slot) is queue:
            del self._queues[slot]

    def _abandon(self, slot: tuple[MemcachedClient, bytes], queue: _Queue) -> None:
        """When the drainer ends: forget the queue, and cancel whatever it could not answer.

        Hits are left only if the drainer itself was cancelled (the loop shutting
        down), possibly before it even started; their callers must not wait forever.
        """
        if self._queues.get(slot) is queue:
            del self._queues[slot]
        for hit in [*queue.current, *queue.pending]:
            if hit.future is not None and not hit.future.done():
                hit.future.cancel()
