"""Repeating a failed backend call, bounded by the backend's timeout."""

from __future__ import annotations

from traffik._error_policy import backend_timeout, bounded
from traffik.backends.base import ThrottleBackend
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy

__all__ = ["call_backend", "timeout_of", "wait_of"]


async def call_backend(
    backend: ThrottleBackend,
    timeout: float | None,
    consume: bool,
    key: str,
    strategy: ThrottleStrategy,
    rate: Rate,
    cost: int,
) -> Decision:
    """``backend.hit`` (or ``peek`` when not ``consume``), bounded by ``timeout`` seconds when set."""
    call = backend.hit(key, strategy, rate, cost) if consume else backend.peek(key, strategy, rate, cost)
    if timeout is None:
        return await call
    return await bounded(call, timeout, type(backend).__name__)


def timeout_of(backend: ThrottleBackend) -> float | None:
    """The timeout a throttle would bound ``backend``'s calls by."""
    return backend_timeout(backend)


def wait_of(decision: Decision) -> float | None:
    """A decision as an ``on_error`` answer: ``None`` admits, a positive wait (ms) rejects."""
    if decision.allowed:
        return None
    # A denial always rejects, even one that announces no wait.
    return max(decision.wait_ms, 1.0)
