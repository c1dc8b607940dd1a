"""The failure policies on a backend that fails on demand (no servers, simulated time where it matters)."""

from __future__ import annotations

import logging
import random
import time

import pytest
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.error_handlers import (
    CircuitBreaker,
    FailoverBackend,
    FailureMonitor,
    compute_delay,
    failover,
    failure_counts,
    retry,
    set_failure_log_interval,
)
from traffik.exceptions import (
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    ConfigurationError,
    ConnectionThrottled,
)
from traffik.registry import ThrottleRegistry

from tests.resilience.conftest import FlakyBackend, make_request


def state_of(breaker: CircuitBreaker) -> str:
    # A function call, so the type checker does not narrow the state between two assertions.
    return breaker.state


def throttle_on(backend: InMemoryBackend, on_error: object = None, rate: str = "2/min") -> HTTPThrottle:
    return HTTPThrottle(
        "policy",
        rate=rate,
        backend=backend,
        on_error=on_error,  # type: ignore[arg-type]  # the policies under test are callables of any shape
        registry=ThrottleRegistry(),
    )


async def outcome(throttle: HTTPThrottle, client: str = "192.0.2.1") -> str:
    """``"admitted"`` or ``"throttled"`` (other errors propagate)."""
    try:
        await throttle.hit(make_request(client))
    except ConnectionThrottled:
        return "throttled"
    return "admitted"


# -- the three named policies -------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"), [("allow", "admitted"), ("throttle", "throttled")], ids=["allow", "throttle"]
)
async def test_a_named_policy_decides_a_failed_hit(policy: str, expected: str) -> None:
    backend = FlakyBackend()
    backend.down = True
    assert await outcome(throttle_on(backend, policy)) == expected


async def test_raise_surfaces_the_backend_error() -> None:
    backend = FlakyBackend()
    backend.down = True
    with pytest.raises(BackendConnectionError):
        await throttle_on(backend, "raise").hit(make_request())


async def test_the_throttle_policy_wins_over_the_backend_default() -> None:
    backend = FlakyBackend(on_error="allow")
    backend.down = True
    assert await outcome(throttle_on(backend)) == "admitted"
    assert await outcome(throttle_on(backend, "throttle")) == "throttled"


async def test_a_hung_backend_is_cut_off_by_its_timeout() -> None:
    backend = FlakyBackend()
    backend.hang = True
    throttle = throttle_on(backend, "allow")
    started = time.perf_counter()
    assert await outcome(throttle) == "admitted"
    assert time.perf_counter() - started < backend.call_timeout + 0.2
    assert failure_counts() == {("FlakyBackend", "BackendTimeoutError"): 1}


# -- logging and counters -----------------------------------------------------------------


async def test_each_failure_is_counted_and_a_cause_is_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = FlakyBackend()
    backend.down = True
    throttle = throttle_on(backend, "allow")
    with caplog.at_level(logging.WARNING, logger="traffik"):
        for _ in range(50):
            await throttle.hit(make_request())
    assert failure_counts() == {("FlakyBackend", "BackendConnectionError"): 50}
    lines = [record for record in caplog.records if record.name == "traffik"]
    assert len(lines) == 1
    assert "connection refused" in lines[0].getMessage()


def test_the_monitor_reports_held_back_repeats_after_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    monitor = FailureMonitor(interval=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="traffik"):
        for _ in range(5):
            monitor.note("RedisBackend", BackendTimeoutError("slow"))
        clock.advance(10_000)
        monitor.note("RedisBackend", BackendTimeoutError("slow"))
        monitor.note("RedisBackend", BackendConnectionError("refused"))  # another cause: logged at once
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3
    assert "4 similar failures not logged" in messages[1]
    assert "BackendConnectionError" in messages[2]
    assert monitor.counts() == {
        ("RedisBackend", "BackendTimeoutError"): 6,
        ("RedisBackend", "BackendConnectionError"): 1,
    }


async def test_an_interval_of_zero_logs_every_failure(caplog: pytest.LogCaptureFixture) -> None:
    set_failure_log_interval(0)
    backend = FlakyBackend()
    backend.down = True
    throttle = throttle_on(backend, "allow")
    with caplog.at_level(logging.WARNING, logger="traffik"):
        for _ in range(3):
            await throttle.hit(make_request())
    assert len([r for r in caplog.records if r.name == "traffik"]) == 3


@pytest.mark.parametrize("interval", [-1, float("nan"), "60", True])
def test_a_bad_log_interval_is_rejected(interval: object) -> None:
    with pytest.raises(ConfigurationError, match="interval"):
        set_failure_log_interval(interval)  # type: ignore[arg-type]  # wrong types on purpose


# -- circuit breaker ----------------------------------------------------------------------


def test_the_breaker_opens_at_the_threshold_and_probes_after_the_recovery_timeout() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(failure_threshold=3, recovery_timeout=2.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert state_of(breaker) == "closed"
    assert breaker.allow()
    breaker.record_failure()
    assert state_of(breaker) == "open"
    assert not breaker.allow()
    clock.advance(1_999)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()
    assert state_of(breaker) == "half_open"
    assert not breaker.allow()  # one probe at a time
    breaker.record_failure()  # the probe failed: open for another recovery_timeout
    assert state_of(breaker) == "open"
    assert not breaker.allow()
    clock.advance(2_000)
    assert breaker.allow()
    breaker.record_success()
    assert state_of(breaker) == "closed"
    assert breaker.failures == 0
    assert breaker.times_opened == 2


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=1.0, clock=ManualClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) == "closed"


def test_a_lost_probe_is_replaced_after_the_recovery_timeout() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(failure_threshold=1, recovery_timeout=1.0, clock=clock)
    breaker.record_failure()
    clock.advance(1_000)
    assert breaker.allow()  # this probe never reports back
    clock.advance(999)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": 1.5}, "failure_threshold"),
        ({"failure_threshold": True}, "failure_threshold"),
        ({"recovery_timeout": 0}, "recovery_timeout"),
        ({"recovery_timeout": -1}, "recovery_timeout"),
        ({"recovery_timeout": float("inf")}, "recovery_timeout"),
        ({"recovery_timeout": "5"}, "recovery_timeout"),
        ({"clock": 5}, "clock"),
    ],
)
def test_the_breaker_rejects_bad_settings(options: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        CircuitBreaker(**options)  # type: ignore[arg-type]  # wrong types on purpose


# -- failover -----------------------------------------------------------------------------


async def test_failover_answers_from_the_fallback_then_skips_the_primary_then_returns() -> None:
    clock = ManualClock()
    primary = FlakyBackend(clock=clock)
    fallback = InMemoryBackend("fallback", clock=clock, cleanup_frequency=None)
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=5.0, clock=clock)
    throttle = throttle_on(primary, failover(backend=fallback, breaker=breaker), rate="3/min")

    assert await outcome(throttle) == "admitted"  # primary answers
    primary.down = True
    # The fallback keeps its own counters: the limit holds there too.
    assert [await outcome(throttle) for _ in range(4)] == ["admitted"] * 3 + ["throttled"]
    assert state_of(breaker) == "open"
    calls_when_opened = primary.calls
    assert calls_when_opened == 3  # 1 success + 2 failures, then the breaker kept traffic away
    assert await outcome(throttle, "192.0.2.2") == "admitted"
    assert primary.calls == calls_when_opened

    primary.down = False
    clock.advance(5_000)
    assert await outcome(throttle, "192.0.2.3") == "admitted"  # the probe went to the primary and succeeded
    assert state_of(breaker) == "closed"
    assert primary.calls == calls_when_opened + 1
    # Back on the primary: its counter for the first client still holds its single hit.
    assert [await outcome(throttle) for _ in range(3)] == ["admitted", "admitted", "throttled"]


async def test_failover_on_a_hung_primary_costs_one_timeout_until_the_breaker_opens() -> None:
    primary = FlakyBackend()
    primary.hang = True
    breaker = CircuitBreaker(failure_threshold=1, recovery_timeout=60.0)
    throttle = throttle_on(primary, failover(backend=InMemoryBackend("fb", cleanup_frequency=None), breaker=breaker))
    started = time.perf_counter()
    assert await outcome(throttle) == "admitted"
    first = time.perf_counter() - started
    assert first >= primary.call_timeout
    started = time.perf_counter()
    outcomes = [await outcome(throttle, "192.0.2.9") for _ in range(20)]
    assert time.perf_counter() - started < primary.call_timeout  # no call waited on the hung primary
    assert outcomes == ["admitted"] * 2 + ["throttled"] * 18  # the fallback enforces the limit


@pytest.mark.parametrize(("then", "expected"), [("allow", "admitted"), ("throttle", "throttled")])
async def test_when_the_fallback_fails_too_the_final_policy_decides(then: str, expected: str) -> None:
    primary = FlakyBackend()
    fallback = FlakyBackend("fallback")
    primary.down = fallback.down = True
    policy = failover(backend=fallback, breaker=CircuitBreaker(1, 1.0), on_error=then)  # type: ignore[arg-type]
    assert await outcome(throttle_on(primary, policy)) == expected
    assert failure_counts() == {("FlakyBackend", "BackendConnectionError"): 2}


async def test_failover_set_on_the_backend_routes_its_throttles() -> None:
    fallback = InMemoryBackend("fallback", cleanup_frequency=None)
    primary = FlakyBackend(on_error=failover(backend=fallback, breaker=CircuitBreaker(1, 60.0)))
    primary.down = True
    throttle = throttle_on(primary)
    assert await outcome(throttle) == "admitted"
    assert len(fallback) == 1


async def test_failover_inside_a_callable_policy_still_answers_from_the_fallback() -> None:
    fallback = InMemoryBackend("fallback", cleanup_frequency=None, clock=ManualClock(10_000.0))
    policy = failover(backend=fallback, breaker=CircuitBreaker(5, 60.0))

    async def logged(connection: object, info: object) -> object:
        return await policy(connection, info)  # type: ignore[arg-type]  # passed through untouched

    primary = FlakyBackend()
    primary.down = True
    throttle = throttle_on(primary, logged, rate="1/min")
    assert [await outcome(throttle) for _ in range(2)] == ["admitted", "throttled"]
    assert policy.breaker.failures == 2


async def test_check_and_stat_follow_the_failover_route() -> None:
    fallback = InMemoryBackend("fallback", cleanup_frequency=None, clock=ManualClock(10_000.0))
    primary = FlakyBackend()
    primary.down = True
    throttle = throttle_on(primary, failover(backend=fallback, breaker=CircuitBreaker(1, 60.0)), rate="1/min")
    await throttle.hit(make_request())
    assert not await throttle.check(make_request())
    stat = await throttle.stat(make_request())
    assert stat is not None
    assert stat.hits_remaining == 0


def test_failover_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="backend"):
        failover(backend="redis://x")  # type: ignore[arg-type]  # wrong type on purpose
    with pytest.raises(ConfigurationError, match="breaker"):
        failover(backend=InMemoryBackend(), breaker=3)  # type: ignore[arg-type]  # wrong type on purpose
    with pytest.raises(ConfigurationError, match="on_error"):
        failover(backend=InMemoryBackend(), on_error="ignore")  # type: ignore[arg-type]  # wrong value on purpose


def test_the_route_is_built_once_per_primary() -> None:
    policy = failover(backend=InMemoryBackend("fb"))
    primary = FlakyBackend()
    route = policy.route_backend(primary)
    assert isinstance(route, FailoverBackend)
    assert route.primary is primary
    assert policy.route_backend(primary) is route
    assert policy.route_backend(route) is route
    assert policy.route_backend(policy.backend) is policy.backend


# -- retry --------------------------------------------------------------------------------


async def test_retry_answers_with_the_retried_decision() -> None:
    backend = FlakyBackend()
    backend.down = True
    attempts = 0
    original = backend._maybe_fail

    async def fail_twice() -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            await original()

    backend._maybe_fail = fail_twice  # type: ignore[method-assign]  # fault injection
    policy = retry(max_retries=3, retry_delay=0.0, backoff="constant")
    throttle = throttle_on(backend, policy, rate="1/min")
    assert await outcome(throttle) == "admitted"
    assert (policy.retries, policy.recovered) == (2, 1)  # the first call and one retry failed
    assert await outcome(throttle) == "throttled"  # the limit, not the error policy


@pytest.mark.parametrize(("then", "expected"), [("allow", "admitted"), ("throttle", "throttled")])
async def test_retry_hands_over_when_every_retry_fails(then: str, expected: str) -> None:
    backend = FlakyBackend()
    backend.down = True
    policy = retry(max_retries=2, retry_delay=0.0, on_error=then)  # type: ignore[arg-type]  # a named policy
    assert await outcome(throttle_on(backend, policy)) == expected
    assert backend.calls == 3
    assert failure_counts() == {("FlakyBackend", "BackendConnectionError"): 3}


async def test_retry_ignores_errors_it_was_not_asked_to_retry() -> None:
    backend = FlakyBackend()
    backend.down = True
    policy = retry(max_retries=3, retry_delay=0.0, retry_on=BackendTimeoutError, on_error="raise")
    with pytest.raises(BackendConnectionError):
        await throttle_on(backend, policy).hit(make_request())
    assert backend.calls == 1


async def test_retry_composes_with_failover() -> None:
    backend = FlakyBackend()
    backend.down = True
    fallback = InMemoryBackend("fallback", cleanup_frequency=None)
    policy = retry(max_retries=1, retry_delay=0.0, on_error=failover(backend=fallback, breaker=CircuitBreaker(9, 1)))
    assert await outcome(throttle_on(backend, policy)) == "admitted"
    assert backend.calls == 2
    assert len(fallback) == 1


def test_backoff_schedules() -> None:
    assert retry(3, 0.1, "constant").delays() == [0.1, 0.1, 0.1]
    assert retry(3, 0.1, "linear").delays() == pytest.approx([0.1, 0.2, 0.3])
    assert retry(4, 0.1, "exponential", max_delay=0.5).delays(jitter=False) == pytest.approx([0.1, 0.2, 0.4, 0.5])
    assert compute_delay("exponential", 0.1, 10_000, 2.0, jitter=False) == 2.0  # no overflow


def test_exponential_backoff_is_jittered_within_half_to_full() -> None:
    rng = random.Random(7)
    draws = [compute_delay("exponential", 0.2, 3, 5.0, jitter=True, rng=rng) for _ in range(200)]
    assert all(0.4 <= d <= 0.8 for d in draws)
    assert len(set(draws)) > 100


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.0}, "max_retries"),
        ({"retry_delay": -0.1}, "retry_delay"),
        ({"retry_delay": float("nan")}, "retry_delay"),
        ({"backoff": "fibonacci"}, "backoff"),
        ({"retry_on": "BackendError"}, "retry_on"),
        ({"retry_on": ()}, "retry_on"),
        ({"retry_on": (BackendError, 3)}, "retry_on"),
        ({"on_error": "ignore"}, "on_error"),
        ({"max_delay": -1}, "max_delay"),
        ({"jitter": "yes"}, "jitter"),
    ],
)
def test_retry_rejects_bad_settings(options: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        retry(**options)  # type: ignore[arg-type]  # wrong values on purpose
