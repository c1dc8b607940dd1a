"""Every decision of the hit pipeline reaches the observers, on every backend."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from traffik import EXEMPTED, config
from traffik.events import Outcome
from traffik.exceptions import ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle

from tests.core.events.conftest import BackendMaker, Recorder, make_request


def _throttle(backend: Any, rate: str = "5/min", **options: Any) -> HTTPThrottle:
    return HTTPThrottle("events:t", rate=rate, backend=backend, registry=ThrottleRegistry(), **options)


async def test_allowed_then_throttled(make_backend: BackendMaker, recorder: Recorder) -> None:
    backend = make_backend()
    throttle = _throttle(backend, cost=2)
    request = make_request()
    await throttle.hit(request)
    await throttle.hit(request)
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(request)
    first, second, third = recorder.decisions
    assert [event.outcome for event in recorder.decisions] == [Outcome.ALLOWED, Outcome.ALLOWED, Outcome.THROTTLED]
    assert (first.throttle_uid, first.backend, first.strategy) == ("events:t", backend.NAME, "fixed-window")
    assert (first.cost, first.remaining, first.limit) == (2, 3, 5)
    assert not first.near_limit  # 2 of 5 used
    assert (second.remaining, second.near_limit) == (1, True)  # 4 of 5 used: over 0.8
    assert third.wait_seconds > 0
    assert third.near_limit
    assert all(event.backend_latency is not None and event.backend_latency >= 0 for event in recorder.decisions)
    assert not any(event.shadow for event in recorder.decisions)
    assert recorder.errors == []


async def test_check_and_stat_report_nothing(make_backend: BackendMaker, recorder: Recorder) -> None:
    throttle = _throttle(make_backend())
    request = make_request()
    assert await throttle.check(request)
    assert await throttle.stat(request) is not None
    assert recorder.decisions == []


async def test_exempted_is_reported_without_a_backend_call(make_backend: BackendMaker, recorder: Recorder) -> None:
    throttle = _throttle(make_backend(), identifier=lambda request: EXEMPTED)
    await throttle.hit(make_request())
    (event,) = recorder.decisions
    assert event.outcome is Outcome.EXEMPTED
    assert (event.remaining, event.limit, event.backend_latency) == (None, 5, None)


async def test_a_skipped_hit_is_no_decision(recorder: Recorder, make_backend: BackendMaker) -> None:
    throttle = _throttle(make_backend())
    await throttle.hit(make_request(), cost=0)
    await throttle.disable()
    await throttle.hit(make_request())
    assert recorder.decisions == []


@pytest.mark.parametrize("ratio", [0.5, 1.0], ids=["half", "exhausted"])
async def test_near_limit_ratio(make_backend: BackendMaker, recorder: Recorder, ratio: float) -> None:
    throttle = _throttle(make_backend(), rate="4/min", near_limit_ratio=ratio)
    request = make_request()
    for _ in range(4):
        await throttle.hit(request)
    near = [event.near_limit for event in recorder.decisions]
    assert near == ([False, True, True, True] if ratio == 0.5 else [False, False, False, True])


async def test_near_limit_ratio_follows_the_app_setting_at_once(make_backend: BackendMaker, recorder: Recorder) -> None:
    throttle = _throttle(make_backend(), rate="10/min")
    request = make_request()
    await throttle.hit(request)
    config.set_near_limit_ratio(0.1)
    await throttle.hit(request)
    assert [event.near_limit for event in recorder.decisions] == [False, True]


@pytest.mark.parametrize(("policy", "applied"), [("allow", "allow"), ("throttle", "throttle")])
async def test_error_outcome_on_a_stopped_server(
    stoppable_backend: tuple[Any, Any], recorder: Recorder, policy: str, applied: str
) -> None:
    backend, server = stoppable_backend
    throttle = _throttle(backend, on_error=policy)
    request = make_request()
    await throttle.hit(request)
    server.stop()
    if policy == "throttle":
        with pytest.raises(ConnectionThrottled):
            await throttle.hit(request)
    else:
        await throttle.hit(request)
    await backend.close()
    allowed, failed = recorder.decisions
    assert allowed.outcome is Outcome.ALLOWED
    assert failed.outcome is Outcome.ERROR
    assert (failed.backend, failed.remaining, failed.near_limit) == (backend.NAME, None, False)
    assert (failed.wait_seconds > 0) is (policy == "throttle")
    (error,) = recorder.errors
    assert (error.backend, error.throttle_uid, error.policy) == (backend.NAME, "events:t", applied)
    assert error.error  # the exception's class name


async def test_raise_policy_is_reported_before_the_error_propagates(
    stoppable_backend: tuple[Any, Any], recorder: Recorder
) -> None:
    backend, server = stoppable_backend
    throttle = _throttle(backend, on_error="raise")
    server.stop()
    with pytest.raises(Exception) as raised:  # whatever the client raises
        await throttle.hit(make_request())
    await backend.close()
    assert not isinstance(raised.value, ConnectionThrottled)
    (event,) = recorder.decisions
    assert event.outcome is Outcome.ERROR
    assert [error.policy for error in recorder.errors] == ["raise"]


@pytest.mark.parametrize("shadow", [False, True], ids=["enforcing", "shadow"])
async def test_observed_hits_on_the_lane_report_what_the_chain_reports(
    make_backend: BackendMaker, recorder: Recorder, shadow: bool
) -> None:
    # The same hits through the lane (no per-hit context) and through the step-by-step chain
    # (an empty per-hit context): the events differ only in the measured latency.
    def identify(connection: Any) -> Any:
        return EXEMPTED if connection.client.host == "198.51.100.1" else connection.client.host

    hosts = ["203.0.113.7"] * 4 + ["198.51.100.1", "203.0.113.8", "203.0.113.7"]

    async def run(throttle: HTTPThrottle, context: dict[str, Any] | None) -> list[tuple[Any, ...]]:
        recorder.decisions.clear()
        for host in hosts:
            with contextlib.suppress(ConnectionThrottled):
                await throttle.hit(make_request(client=host), context=context)
        return [
            (*event[: event._fields.index("backend_latency")], event.near_limit, event.shadow)
            for event in recorder.decisions
        ]

    lane_throttle = _throttle(make_backend(), rate="3/min", identifier=identify, shadow=shadow)
    chain_throttle = _throttle(make_backend(), rate="3/min", identifier=identify, shadow=shadow)
    prepared = 0
    prepare = lane_throttle._prepare

    async def counting_prepare(*args: Any, **kwargs: Any) -> Any:
        nonlocal prepared
        prepared += 1
        return await prepare(*args, **kwargs)

    lane_throttle._prepare = counting_prepare  # type: ignore[method-assign]
    through_lane = await run(lane_throttle, None)
    through_chain = await run(chain_throttle, {})
    assert through_lane == through_chain
    assert [outcome for _, _, _, outcome, *_ in through_lane] == [
        Outcome.ALLOWED,
        Outcome.ALLOWED,
        Outcome.ALLOWED,
        Outcome.SHADOW_THROTTLED if shadow else Outcome.THROTTLED,
        Outcome.EXEMPTED,
        Outcome.ALLOWED,
        Outcome.SHADOW_THROTTLED if shadow else Outcome.THROTTLED,
    ]
    assert prepared == 1  # only the first hit walked the chain: it built the lane
