"""Lifespan integration: FastAPI start-up and shutdown, ``async with``, the active backend."""

from __future__ import annotations

import warnings

import pytest
from fastapi import FastAPI
from traffik.backends import get_active_backend
from traffik.backends.inmemory import InMemoryBackend
from traffik.rates import Rate
from traffik.strategies import FixedWindow

with warnings.catch_warnings():
    # Starlette >= 1.10 deprecates TestClient on httpx in favour of httpx2, which
    # the dev environment does not install yet; the httpx path still works.
    warnings.filterwarnings("ignore", message=r".*install `httpx2` instead")
    from fastapi.testclient import TestClient

RATE = Rate.parse("2/min")


def sweeping(backend: InMemoryBackend) -> bool:
    # A call, not the property: mypy would keep an assert's narrowing across awaits.
    return backend.cleanup_running


def _app(backend: InMemoryBackend) -> FastAPI:
    app = FastAPI(lifespan=backend.lifespan)

    @app.get("/items")
    async def items() -> dict[str, object]:
        active = get_active_backend()
        assert active is not None
        decision = await active.hit("client", FixedWindow(), RATE)
        return {"allowed": decision.allowed, "active_is_backend": active is backend}

    return app


@pytest.mark.parametrize("cleanup_frequency", [10.0, None], ids=["sweeping", "no-sweep"])
def test_lifespan_installs_the_backend_and_clears_on_shutdown(cleanup_frequency: float | None) -> None:
    backend = InMemoryBackend(namespace="app", cleanup_frequency=cleanup_frequency)
    assert get_active_backend() is None
    with TestClient(_app(backend)) as client:
        assert sweeping(backend) is (cleanup_frequency is not None)
        bodies = [client.get("/items").json() for _ in range(3)]
        assert bodies == [
            {"allowed": True, "active_is_backend": True},
            {"allowed": True, "active_is_backend": True},
            {"allowed": False, "active_is_backend": True},
        ]
        assert len(backend) == 1
    assert len(backend) == 0
    assert not sweeping(backend)
    assert get_active_backend() is None


def test_persistent_backend_keeps_its_data_across_restarts() -> None:
    backend = InMemoryBackend(namespace="app", persistent=True)
    app = _app(backend)
    with TestClient(app) as client:
        assert [client.get("/items").json()["allowed"] for _ in range(2)] == [True, True]
    assert len(backend) == 1
    assert not sweeping(backend)
    with TestClient(app) as client:
        assert client.get("/items").json()["allowed"] is False  # the quota survived the restart
        assert sweeping(backend)


async def test_async_with_sets_the_active_backend() -> None:
    backend = InMemoryBackend(namespace="ctx")
    assert get_active_backend() is None
    async with backend as entered:
        assert entered is backend
        assert get_active_backend() is backend
        assert sweeping(backend)
        await backend.hit("k", FixedWindow(), RATE)
        inner = InMemoryBackend(namespace="inner")
        async with inner:
            assert get_active_backend() is inner
        assert get_active_backend() is backend
    assert get_active_backend() is None
    assert not sweeping(backend)
    assert len(backend) == 0


async def test_async_with_keeps_persistent_data() -> None:
    backend = InMemoryBackend(namespace="ctx", persistent=True)
    async with backend:
        await backend.hit("k", FixedWindow(), RATE)
    assert len(backend) == 1


async def test_calling_the_backend_is_the_lifespan() -> None:
    backend = InMemoryBackend(namespace="call")
    async with backend(None):
        assert get_active_backend() is backend
        assert sweeping(backend)
    assert get_active_backend() is None
    assert not sweeping(backend)
