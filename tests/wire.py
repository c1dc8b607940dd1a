"""What a client really sent: every write to an asyncio stream, and the Redis commands in it.

Round trips are counted where bytes meet the socket rather than by wrapping a
client method, so a backend that packs and writes its own commands is counted
as faithfully as one that goes through its client library.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["recorded_writes", "redis_commands"]


@contextlib.contextmanager
def recorded_writes() -> Iterator[list[bytes]]:
    """Record each ``StreamWriter.write``/``writelines`` call's bytes while the block runs (one entry per call)."""
    writes: list[bytes] = []
    write, writelines = asyncio.StreamWriter.write, asyncio.StreamWriter.writelines

    def recording_write(self: asyncio.StreamWriter, data: Any) -> None:
        writes.append(bytes(data))
        write(self, data)

    def recording_writelines(self: asyncio.StreamWriter, data: Iterable[Any]) -> None:
        chunks = [bytes(chunk) for chunk in data]
        writes.append(b"".join(chunks))
        writelines(self, chunks)

    asyncio.StreamWriter.write = recording_write  # type: ignore[method-assign]
    asyncio.StreamWriter.writelines = recording_writelines  # type: ignore[method-assign]
    try:
        yield writes
    finally:
        asyncio.StreamWriter.write = write  # type: ignore[method-assign]
        asyncio.StreamWriter.writelines = writelines  # type: ignore[method-assign]


def redis_commands(data: bytes) -> list[list[bytes]]:
    """The commands in bytes sent to Redis (arrays of bulk strings), each as its list of arguments.

    Raises:
        ValueError: ``data`` is not a whole number of commands in that form.
    """
    commands: list[list[bytes]] = []
    position = 0
    while position < len(data):
        count, position = _header(data, position, b"*")
        arguments = []
        for _ in range(count):
            size, position = _header(data, position, b"$")
            end = position + size
            if data[end : end + 2] != b"\r\n":
                raise ValueError(f"bulk string at byte {position} is not {size} bytes long")
            arguments.append(data[position:end])
            position = end + 2
        commands.append(arguments)
    return commands


def _header(data: bytes, position: int, kind: bytes) -> tuple[int, int]:
    end = data.find(b"\r\n", position)
    if end < 0 or data[position : position + 1] != kind:
        raise ValueError(f"expected {kind!r} header at byte {position}")
    return int(data[position + 1 : end]), end + 2
