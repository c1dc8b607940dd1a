"""The signatures FastAPI reads from throttles (``Depends(throttle)``) and ``@throttled`` endpoints.

FastAPI before 0.123.7 takes a signature with a plain ``inspect.signature``
and resolves string annotations (``from __future__ import annotations``) only
through the ``__globals__`` of the callable it was given: never for an
object's ``__call__``, and in the wrapper's module for a wrapped endpoint. An
unresolved ``Request`` becomes a required query parameter: a 422 on every
request. The FastAPI tests prove it end to end on the oldest supported
FastAPI (scripts/test_client_matrix.sh); these prove it on any.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from traffik import HTTPThrottle, WebSocketThrottle
from traffik.throttles import throttled


@pytest.mark.parametrize(
    ("throttle_class", "expected"),
    [
        pytest.param(HTTPThrottle, {"connection": HTTPConnection, "response": Response}, id="http"),
        pytest.param(WebSocketThrottle, {"websocket": WebSocket}, id="websocket"),
    ],
)
def test_dependency_annotations_are_classes_not_strings(
    throttle_class: Any, expected: dict[str, type], backend: Any, registry: Any
) -> None:
    throttle = throttle_class("t", rate="1/s", backend=backend, registry=registry)
    parameters = inspect.signature(throttle).parameters
    assert {name: parameter.annotation for name, parameter in parameters.items()} == expected


def test_decorated_endpoint_signature_has_the_endpoints_evaluated_annotations(backend: Any, registry: Any) -> None:
    # This module has ``from __future__ import annotations``: ``Request`` below is a string until evaluated.
    async def report(request: Request, limit: int = 10) -> dict[str, str]:
        return {}

    wrapper = throttled(HTTPThrottle("t", rate="1/s", backend=backend, registry=registry))(report)
    parameters = inspect.signature(wrapper).parameters
    assert {name: parameter.annotation for name, parameter in parameters.items()} == {"request": Request, "limit": int}
    assert parameters["limit"].default == 10
