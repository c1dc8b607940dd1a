"""Shutdown is best-effort: a store that is down when the app stops is logged once, never raised.

With ``persistent=False`` the lifespan's shutdown clears the namespace, which
needs the store; a store that is gone by then must not turn the app's
shutdown into a crash (its keys expire by their TTL anyway).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import pytest
from traffik.backends.base import ThrottleBackend
from traffik.rates import Rate
from traffik.testing import ServerFactory

from tests.resilience.servers import KINDS, RATE, STRATEGY, Kind, make_backend, start_server

NAMESPACE = "shutdown-ns"

EXITS: dict[str, Callable[[ThrottleBackend], contextlib.AbstractAsyncContextManager[object]]] = {
    "lifespan": lambda backend: backend.lifespan(None),
    "async-with": lambda backend: backend,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("exit_path", list(EXITS))
async def test_a_shutdown_with_the_store_down_logs_one_warning_and_returns(
    kind: Kind, exit_path: str, server_factory: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server(kind, server_factory)
    backend = make_backend(kind, server.address, namespace=NAMESPACE)
    assert backend.persistent is False  # the reference's default: shutdown clears the namespace
    caplog.set_level(logging.WARNING)
    async with EXITS[exit_path](backend):
        decision = await backend.hit("client", STRATEGY, Rate.parse(RATE))
        assert decision.allowed  # connected: the shutdown has connections to close
        server.kill()
        caplog.clear()
    # Reaching this line is the point: the exit did not raise.
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    message = warnings[0].getMessage()
    assert type(backend).__name__ in message
    assert repr(NAMESPACE) in message
