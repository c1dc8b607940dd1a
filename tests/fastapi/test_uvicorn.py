"""End to end: the integration served by a real uvicorn process on a free loopback port."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from traffik.testing import ServerProcess

HERE = Path(__file__).resolve().parent


class UvicornServer(ServerProcess):
    """``python -m uvicorn uvicorn_app:app`` on a loopback port."""

    EXECUTABLE = "uvicorn"
    APT_PACKAGE = "python3-uvicorn (or pip install uvicorn)"
    SCHEME = "http"

    def command(self, executable: str, port: int, workdir: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE),
            "uvicorn_app:app",
            "--host",
            self.host,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]

    @classmethod
    def find_executable(cls) -> str | None:
        # Run by module with this interpreter: the venv's uvicorn, whatever PATH says.
        return sys.executable

    def probe(self, sock: socket.socket) -> bool:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return sock.recv(64).startswith(b"HTTP/1.1 200")


@pytest.fixture
def server() -> Iterator[UvicornServer]:
    # A generous start-up time: CI machines are shared and importing FastAPI takes a moment.
    with UvicornServer(startup_timeout=30.0) as started:
        assert isinstance(started, UvicornServer)
        yield started


def test_decorated_route_over_real_sockets(server: UvicornServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        responses = [client.get("/decorated") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    assert responses[0].text == "decorated"
    denied = responses[2]
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["status"] == 429
    assert int(denied.headers["retry-after"]) == denied.json()["retry_after"] >= 1


def test_streaming_and_sync_routes_share_one_quota(server: UvicornServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        streamed = client.get("/stream")
        synced = client.get("/sync")
        third = client.get("/stream")
        denied = client.get("/sync")
    assert streamed.text == "abc"
    assert streamed.headers["x-ratelimit-remaining"] == "2"
    assert synced.json() == {"mode": "sync"}
    assert synced.headers["x-ratelimit-remaining"] == "1"
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert denied.status_code == 429


def test_schema_served_by_uvicorn_documents_the_limits(server: UvicornServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert paths["/decorated"]["get"]["x-rate-limits"][0]["policy"] == "2/h per client and endpoint"
    assert "application/problem+json" in paths["/stream"]["get"]["responses"]["429"]["content"]
    assert "429" not in paths["/health"]["get"]["responses"]
