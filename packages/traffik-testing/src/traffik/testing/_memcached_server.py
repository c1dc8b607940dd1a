"""A throwaway ``memcached`` process for tests."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from traffik.testing._errors import ServerOptionError
from traffik.testing._ports import LOOPBACK
from traffik.testing._process import ServerProcess, read_line

__all__ = ["MemcachedServer"]


class MemcachedServer(ServerProcess):
    """A throwaway ``memcached`` on TCP only (UDP off), loopback only.

    Example:
        >>> server = MemcachedServer()
        >>> server.start()  # doctest: +SKIP
        >>> server.address  # doctest: +SKIP
        ('127.0.0.1', 40124)
        >>> server.stop()
    """

    EXECUTABLE: ClassVar[str] = "memcached"
    APT_PACKAGE: ClassVar[str] = "memcached"
    SCHEME: ClassVar[str] = "memcached"

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = LOOPBACK,
        executable: str | None = None,
        startup_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        extra_args: Sequence[str] = (),
        memory_mb: int = 64,
    ) -> None:
        super().__init__(
            port,
            host=host,
            executable=executable,
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
            extra_args=extra_args,
        )
        if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb < 1:
            raise ServerOptionError(f"MemcachedServer: memory_mb must be a positive integer, got {memory_mb!r}")
        self.memory_mb = memory_mb

    def command(self, executable: str, port: int, workdir: Path) -> list[str]:
        """``memcached`` on ``port`` of :attr:`host`, one worker thread, UDP disabled."""
        args = [executable, "-l", self.host, "-p", str(port), "-U", "0", "-t", "1", "-m", str(self.memory_mb)]
        if sys.platform != "win32" and os.geteuid() == 0:
            # memcached refuses to run as root unless told which user to be.
            args += ["-u", "root"]
        return args

    def probe(self, sock: socket.socket) -> bool:
        """``version`` must get ``VERSION ...``."""
        sock.sendall(b"version\r\n")
        return read_line(sock).startswith(b"VERSION ")
