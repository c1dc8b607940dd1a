"""A small HTTP/1.1 keep-alive load client for loopback servers (no third-party tools needed).

``connections`` sockets each send ``GET`` requests one after another, reusing
the connection, until the requested total is sent. Every run is bounded in
count and in time, and refuses any host outside the loopback range.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

__all__ = ["LoadError", "load"]


class LoadError(RuntimeError):
    """The server answered something other than ``200 OK``, closed early, or the run ran out of time."""


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the load client only targets loopback addresses, got {host!r}")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(host: str, port: int, request: bytes, count: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(count):
            writer.write(request)
            status = await _read_response(reader)
            if status != 200:
                raise LoadError(f"expected 200, got {status}")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise LoadError(f"the server closed the connection: {exc!r}") from exc
    finally:
        writer.close()
        await writer.wait_closed()


async def load(host: str, port: int, path: str, requests: int, connections: int, timeout_s: float) -> float:
    """Send ``requests`` GETs of ``path`` over ``connections`` keep-alive connections; return seconds taken.

    Raises:
        ValueError: ``host`` is not a loopback address.
        LoadError: A response was not ``200``, a connection dropped, or the run took over ``timeout_s``.
    """
    _require_loopback(host)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: traffik-bench\r\n\r\n".encode()
    share, extra = divmod(requests, connections)
    counts = [share + (index < extra) for index in range(connections)]
    started = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(_connection(host, port, request, count) for count in counts if count)), timeout_s
        )
    except asyncio.TimeoutError as exc:
        raise LoadError(f"{requests} requests to {path} took over {timeout_s} s") from exc
    return time.perf_counter() - started
