"""Failover switches and circuit breaker transitions reach the observers."""

from __future__ import annotations

from typing import Any

from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.error_handlers import CircuitBreaker, failover
from traffik.events import BreakerEvent, FailoverEvent, Outcome
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle

from tests.core.events.conftest import Recorder, make_request


class Flaky(InMemoryBackend):
    """Fault injection: raises while ``broken``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cleanup_frequency=None, **kwargs)
        self.broken = True

    async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        if self.broken:
            raise ConnectionError("primary down")
        return await super().hit(key, strategy, rate, cost)


async def test_failover_and_breaker_events(clock: ManualClock, recorder: Recorder) -> None:
    primary = Flaky(clock=clock)
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=10, clock=clock, name="to-memory")
    policy = failover(backend=InMemoryBackend(clock=clock, cleanup_frequency=None), breaker=breaker)
    throttle = HTTPThrottle(
        "events:failover", rate="100/min", backend=primary, on_error=policy, registry=ThrottleRegistry()
    )
    request = make_request()
    await throttle.hit(request)  # primary fails: the fallback answers
    await throttle.hit(request)  # fails again: the breaker opens
    await throttle.hit(request)  # breaker open: straight to the fallback
    assert recorder.failovers == [FailoverEvent("inmemory", "inmemory", "error: ConnectionError")]
    assert recorder.breakers == [BreakerEvent("to-memory", "closed", "open")]
    assert [(error.backend, error.throttle_uid, error.policy) for error in recorder.errors] == [
        ("inmemory", None, "fallback"),
        ("inmemory", None, "fallback"),
    ]
    assert {event.outcome for event in recorder.decisions} == {Outcome.ALLOWED}
    assert {event.backend for event in recorder.decisions} == {"failover"}

    primary.broken = False
    clock.advance(10_000)
    await throttle.hit(request)  # the probe succeeds: back to the primary
    assert recorder.breakers[1:] == [
        BreakerEvent("to-memory", "open", "half_open"),
        BreakerEvent("to-memory", "half_open", "closed"),
    ]
    assert recorder.failovers[1:] == [FailoverEvent("inmemory", "inmemory", "recovered")]


def test_breaker_reset_is_reported(clock: ManualClock, recorder: Recorder) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_timeout=5, clock=clock, name="b")
    breaker.record_failure()
    breaker.record_failure()  # already open: no move
    breaker.reset()
    breaker.reset()  # already closed: no move
    assert recorder.breakers == [BreakerEvent("b", "closed", "open"), BreakerEvent("b", "open", "closed")]
