"""A throwaway ``redis-server`` process for tests."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import ClassVar

from traffik.testing._process import ServerProcess, read_line

__all__ = ["RedisServer"]


class RedisServer(ServerProcess):
    """A throwaway ``redis-server``: no persistence, no protected mode, loopback only.

    Example:
        >>> server = RedisServer()
        >>> server.start()  # doctest: +SKIP
        >>> server.url  # doctest: +SKIP
        'redis://127.0.0.1:40123'
        >>> server.stop()
    """

    EXECUTABLE: ClassVar[str] = "redis-server"
    APT_PACKAGE: ClassVar[str] = "redis-server"
    SCHEME: ClassVar[str] = "redis"

    def command(self, executable: str, port: int, workdir: Path) -> list[str]:
        """``redis-server`` with persistence off, bound to :attr:`host` on ``port``."""
        return [
            executable,
            "--port",
            str(port),
            "--bind",
            self.host,
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(workdir),
            "--loglevel",
            "warning",
        ]

    def probe(self, sock: socket.socket) -> bool:
        """``PING`` must get ``+PONG`` (not ``-LOADING``)."""
        sock.sendall(b"PING\r\n")
        return read_line(sock).startswith(b"+PONG")
