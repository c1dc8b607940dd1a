"""Costs that are negative, zero, huge or of the wrong type, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.strategies import GCRA, FixedWindow, SlidingWindowCounter, ThrottleStrategy, TokenBucket

LIMIT = 5
STRATEGIES: dict[str, ThrottleStrategy] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "token-bucket": TokenBucket(),
    "gcra": GCRA(burst_tolerance_ms=48_000),
}


def request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("192.0.2.70", 1)})


def make_throttle(backend: ThrottleBackend, strategy: ThrottleStrategy | None = None, cost: Any = 1) -> HTTPThrottle:
    return HTTPThrottle(
        "costs",
        rate=f"{LIMIT}/min",
        backend=backend,
        strategy=strategy,
        cost=cost,
        on_error="raise",
        registry=ThrottleRegistry(),
    )


async def admitted(throttle: HTTPThrottle, cost: int | None = None) -> bool:
    try:
        await throttle.hit(request(), cost=cost)
    except ConnectionThrottled:
        return False
    return True


@pytest.mark.parametrize("cost", [-1, -(10**20), 1.0, "1", None, True, object()])
def test_a_bad_static_cost_is_a_configuration_error(cost: object) -> None:
    with pytest.raises(ConfigurationError, match="cost"):
        make_throttle(InMemoryBackend(), cost=cost)


@pytest.mark.parametrize("cost", [-1, 2.5, "3", True])
async def test_a_bad_per_call_cost_is_a_value_error(backend: ThrottleBackend, cost: object) -> None:
    throttle = make_throttle(backend)
    with pytest.raises(ValueError, match="cost"):
        await throttle.hit(request(), cost=cost)  # type: ignore[arg-type]  # wrong types on purpose
    stat = await throttle.stat(request())
    assert stat is not None
    assert stat.hits_remaining == LIMIT  # the rejected call consumed nothing


@pytest.mark.parametrize("returned", [-1, 1.5, "2", None, True])
async def test_a_cost_callable_returning_garbage_is_a_configuration_error(returned: object) -> None:
    async def cost(connection: Request, context: Any) -> object:
        return returned

    throttle = make_throttle(InMemoryBackend(), cost=cost)
    with pytest.raises(ConfigurationError, match="cost"):
        await throttle.hit(request())


async def test_a_zero_cost_skips_the_backend(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend)
    for _ in range(3 * LIMIT):
        assert await admitted(throttle, 0)
    stat = await throttle.stat(request())
    assert stat is not None
    assert stat.hits_remaining == LIMIT


@pytest.mark.parametrize("strategy_name", list(STRATEGIES))
@pytest.mark.parametrize("cost", [LIMIT + 1, 10**9, 2**53], ids=lambda c: f"cost={c:.0e}")  # larger: refused
async def test_a_cost_above_the_limit_is_denied_without_consuming(
    backend: ThrottleBackend, strategy_name: str, cost: int
) -> None:
    throttle = make_throttle(backend, STRATEGIES[strategy_name])
    with pytest.raises(ConnectionThrottled) as caught:
        await throttle.hit(request(), cost=cost)
    assert caught.value.retry_after >= 1
    # The quota is intact: exactly LIMIT hits of 1 still pass.
    assert [await admitted(throttle) for _ in range(LIMIT + 1)] == [True] * LIMIT + [False]


async def test_a_cost_of_the_whole_limit_spends_it_in_one_hit(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend)
    assert await admitted(throttle, LIMIT)
    assert not await admitted(throttle, 1)
