"""tests/wire.py: what a client wrote to its sockets, read back as Redis commands."""

from __future__ import annotations

import asyncio

import pytest

from tests.wire import recorded_writes, redis_commands


def test_redis_commands_reads_back_each_command_and_its_arguments() -> None:
    data = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$0\r\n\r\n"
    assert redis_commands(data) == [[b"GET", b"k"], [b"SET", b"a\r\nb", b""]]
    assert redis_commands(b"") == []


@pytest.mark.parametrize(
    "data",
    [b"$3\r\nGET\r\n", b"*1\r\n$3\r\nGETX\r\n", b"*2\r\n$3\r\nGET\r\n", b"*1\r\n$3\r\nGE"],
    ids=["not an array", "wrong length", "missing argument", "cut short"],
)
def test_redis_commands_refuses_what_is_not_whole_commands(data: bytes) -> None:
    with pytest.raises(ValueError, match="byte"):
        redis_commands(data)


async def test_recorded_writes_sees_write_and_writelines_then_stops_recording() -> None:
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readexactly(9))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    with recorded_writes() as writes:
        writer.write(b"one")
        writer.writelines([b"tw", bytearray(b"o")])
    writer.write(b"not")  # after the block: not recorded
    await writer.drain()
    await reader.read()
    writer.close()
    server.close()
    await server.wait_closed()
    assert writes == [b"one", b"two"]
    assert received == [b"onetwonot"]  # the bytes still went out
