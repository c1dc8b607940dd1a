"""Make the repository's ``benchmarks`` package importable (it is run as ``python -m benchmarks`` from the root).

Also the fixtures the benchmark tests share.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from traffik.testing import MemcachedServer

if TYPE_CHECKING:
    from benchmarks._targets import Target

ROOT = Path(__file__).resolve().parents[2]
# `python -m pytest` puts the working directory on sys.path, `.venv/bin/pytest` does not.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
async def tiny_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A keep-alive HTTP/1.1 server answering 200 for /ok and 429 otherwise; yields (port, request count)."""
    seen = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while request := await reader.readuntil(b"\r\n\r\n"):
                seen[0] += 1
                status = b"200 OK" if request.startswith(b"GET /ok ") else b"429 Too Many Requests"
                writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, seen
    server.close()
    await server.wait_closed()


@pytest.fixture
def memcached_target(memcached_servers: tuple[MemcachedServer, MemcachedServer]) -> Target:
    """A benchmark ``Target`` on the two test memcached servers."""
    from benchmarks._targets import Target  # importable once ROOT is on sys.path (above)

    servers = tuple(server.address for server in memcached_servers)
    location = ",".join(f"{host}:{port}" for host, port in servers)
    return Target("memcached", f"memcached://{location}", memcached=servers)
