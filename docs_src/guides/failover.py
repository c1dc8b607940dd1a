"""Failover to a second backend while the primary is down, and back once it recovers."""

from __future__ import annotations

# --8<-- [start:example]
import asyncio

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.error_handlers import CircuitBreaker, failover, failure_counts
from traffik.exceptions import BackendConnectionError
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.strategies import Decision, ThrottleStrategy


class FlakyBackend(InMemoryBackend):
    """Stands in for a Redis that went away: hits fail while `down` is set."""

    down = False

    async def hit(
        self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1
    ) -> Decision:
        if self.down:
            raise BackendConnectionError("primary unreachable")
        return await super().hit(key, strategy, rate, cost)


clock = ManualClock(1_000.0)
primary = FlakyBackend(namespace="primary", clock=clock)
fallback = InMemoryBackend(namespace="fallback", clock=clock)
breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=30.0, clock=clock)

throttle = HTTPThrottle(
    "api:failover",
    rate="100/min",
    backend=primary,
    # While the primary fails, answer from the fallback (clients get a fresh quota
    # there).
    on_error=failover(backend=fallback, breaker=breaker),
    registry=ThrottleRegistry(),
)


def breaker_state() -> str:
    return breaker.state


# --8<-- [end:example]


# --8<-- [start:demo]
async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    await throttle.hit(request())  # the primary answers
    primary.down = True
    await throttle.hit(request())  # fails: answered by the fallback
    await throttle.hit(request())  # second failure: the breaker opens
    assert breaker_state() == "open"
    await throttle.hit(request())  # the primary is skipped entirely while open
    primary.down = False
    clock.advance(30_000)  # after recovery_timeout a probe goes to the primary...
    await throttle.hit(request())
    assert breaker_state() == "closed"  # ...and its success sends traffic back
    assert sum(failure_counts().values()) >= 2  # what an operator can read


if __name__ == "__main__":
    asyncio.run(main())


# --8<-- [end:demo]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("203.0.113.9", 1),
        }
    )
