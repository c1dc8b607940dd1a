"""Backend failures follow on_error; a hung backend is cut off by the call timeout."""

from __future__ import annotations

from typing import Any

import pytest
from traffik import HTTPThrottle
from traffik.exceptions import BackendTimeoutError, ConfigurationError, ConnectionThrottled


async def test_allow_lets_requests_through(failing_backend: Any, registry: Any, make_request: Any) -> None:
    backend = failing_backend()
    throttle = HTTPThrottle("t", rate="1/min", on_error="allow", backend=backend, registry=registry)
    request = make_request()
    assert await throttle.hit(request) is request
    assert await throttle.hit(make_request()) is not None
    assert await throttle.check(make_request()) is True
    assert backend.calls == 3


async def test_throttle_rejects_with_429(failing_backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", on_error="throttle", backend=failing_backend(), registry=registry)
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.headers == {"Retry-After": "1"}
    assert await throttle.check(make_request()) is False


async def test_throttle_respects_min_wait_period(failing_backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle(
        "t", rate="1/min", on_error="throttle", min_wait_period=3_000, backend=failing_backend(), registry=registry
    )
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.retry_after == 3


async def test_raise_reraises_the_backend_error(failing_backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", on_error="raise", backend=failing_backend(), registry=registry)
    with pytest.raises(ConnectionError, match="backend down"):
        await throttle.hit(make_request())
    with pytest.raises(ConnectionError):
        await throttle.check(make_request())


async def test_default_is_the_backends_policy(failing_backend: Any, registry: Any, make_request: Any) -> None:
    open_backend = failing_backend(on_error="allow")
    throttle = HTTPThrottle("open", rate="1/min", backend=open_backend, registry=registry)
    await throttle.hit(make_request())
    closed = HTTPThrottle("closed", rate="1/min", backend=failing_backend(), registry=registry)  # backend: "throttle"
    with pytest.raises(ConnectionThrottled):
        await closed.hit(make_request())
    overriding = HTTPThrottle("override", rate="1/min", on_error="allow", backend=failing_backend(), registry=registry)
    await overriding.hit(make_request())


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("allow", "pass"),
        (None, "pass"),
        (0, "pass"),
        ("throttle", 1),
        (True, 1),
        (7_000, 7),
        ("raise", "raise"),
    ],
)
async def test_callable_decides(
    failing_backend: Any, registry: Any, make_request: Any, answer: Any, outcome: Any
) -> None:
    seen: list[Any] = []

    async def on_error(connection: Any, info: Any) -> Any:
        seen.append((connection, info))
        return answer

    backend = failing_backend()
    throttle = HTTPThrottle("t", rate="1/min", on_error=on_error, context={"k": 1}, backend=backend, registry=registry)
    request = make_request()
    if outcome == "pass":
        assert await throttle.hit(request) is request
    elif outcome == "raise":
        with pytest.raises(ConnectionError):
            await throttle.hit(request)
    else:
        with pytest.raises(ConnectionThrottled) as info:
            await throttle.hit(request)
        assert info.value.retry_after == outcome
    [(connection, details)] = seen
    assert connection is request
    assert isinstance(details["exception"], ConnectionError)
    assert details["throttle"] is throttle
    assert details["backend"] is backend
    assert details["cost"] == 1
    assert details["context"] == {"k": 1}


async def test_sync_callable_is_accepted(failing_backend: Any, registry: Any, make_request: Any) -> None:
    sync_policy: Any = lambda connection, info: "allow"  # noqa: E731  # a plain (sync) callable on purpose
    throttle = HTTPThrottle("t", rate="1/min", on_error=sync_policy, backend=failing_backend(), registry=registry)
    await throttle.hit(make_request())


async def test_callable_with_a_nonsense_answer(failing_backend: Any, registry: Any, make_request: Any) -> None:
    nonsense: Any = lambda connection, info: "maybe"  # noqa: E731
    throttle = HTTPThrottle("t", rate="1/min", on_error=nonsense, backend=failing_backend(), registry=registry)
    with pytest.raises(ConfigurationError, match="'maybe'"):
        await throttle.hit(make_request())


async def test_hung_backend_times_out_into_the_policy(failing_backend: Any, registry: Any, make_request: Any) -> None:
    backend = failing_backend(hang=True)  # call_timeout = 0.05 s
    errors: list[BaseException] = []

    async def on_error(connection: Any, info: Any) -> str:
        errors.append(info["exception"])
        return "allow"

    throttle = HTTPThrottle("t", rate="1/min", on_error=on_error, backend=backend, registry=registry)
    await throttle.hit(make_request())
    assert len(errors) == 1
    assert isinstance(errors[0], BackendTimeoutError)


async def test_hung_backend_with_raise_policy(failing_backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", on_error="raise", backend=failing_backend(hang=True), registry=registry)
    with pytest.raises(BackendTimeoutError, match="did not answer"):
        await throttle.hit(make_request())


async def test_stat_propagates_backend_errors(failing_backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", on_error="allow", backend=failing_backend(), registry=registry)
    with pytest.raises(ConnectionError):
        await throttle.stat(make_request())


async def test_configuration_errors_are_not_swallowed(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle(
        "t",
        rate="1/min",
        on_error="allow",
        identifier=lambda c: 1,  # type: ignore[arg-type, return-value]  # not a string, on purpose
        backend=backend,
        registry=registry,
    )
    with pytest.raises(ConfigurationError):
        await throttle.hit(make_request())
