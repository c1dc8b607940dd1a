"""Redis deployments for tests: a primary and a replica watched by Sentinel, on loopback ports.

Real processes, as everywhere in the suite: ``redis-server`` for the primary
and the replica, ``redis-server --sentinel`` for each Sentinel, each on a free
127.0.0.1 port with its own working directory, stopped by PID. The helpers
talk to them over plain sockets (a few lines of RESP), so what they observe
does not depend on the redis-py version under test.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from traffik.testing import RedisServer, ServerNotInstalledError, ServerProcess, stop_all
from traffik.testing._pytest_servers import in_ci

__all__ = ["SentinelServer", "SentinelTopology", "redis_command"]

SERVICE = "traffik-primary"
_POLL_S = 0.05
_DATA_NODE_ARGS = ("--repl-diskless-sync-delay", "0")
_SENTINEL_TIMERS = (("info-period", "250"), ("publish-period", "250"))


def redis_command(address: tuple[str, int], *args: str, timeout: float = 2.0) -> object:
    """Send one command to ``address`` and return its parsed reply (an error reply is returned as the exception)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a.encode()) for a in args))
        return _Reader(sock).reply()


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def reply(self) -> object:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return int(rest) if kind == b":" else rest.decode()
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buffer) < size + 2:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                self.buffer += chunk
            data, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
            return data.decode()
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.reply() for _ in range(count)]
        raise ValueError(f"unexpected reply line {line!r}")


def _fields(flat: object) -> dict[str, str]:
    """``SENTINEL REPLICAS`` entries are flat ``[name, value, ...]`` lists."""
    assert isinstance(flat, list)
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


class SentinelServer(ServerProcess):
    """A ``redis-server --sentinel`` that monitors ``service`` at ``primary`` (quorum 1: one may decide).

    Sentinel rewrites its configuration file as the topology changes, so the
    file is written into the server's own working directory at each start.
    """

    EXECUTABLE: ClassVar[str] = "redis-server"
    APT_PACKAGE: ClassVar[str] = "redis-server"
    SCHEME: ClassVar[str] = "redis"

    def __init__(self, primary: tuple[str, int], *, service: str = SERVICE, quorum: int = 1) -> None:
        super().__init__()
        self.primary = primary
        self.service = service
        self.quorum = quorum

    def command(self, executable: str, port: int, workdir: Path) -> list[str]:
        """``redis-server <workdir>/sentinel.conf --sentinel``, fast to notice a down primary."""
        host, primary_port = self.primary
        config = workdir / "sentinel.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {port}",
                    f"bind {self.host}",
                    "protected-mode no",
                    f"dir {workdir}",
                    f"sentinel monitor {self.service} {host} {primary_port} {self.quorum}",
                    f"sentinel down-after-milliseconds {self.service} 2000",
                    f"sentinel failover-timeout {self.service} 10000",
                    f"sentinel parallel-syncs {self.service} 1",
                    "",
                ]
            )
        )
        return [executable, str(config), "--sentinel"]

    def probe(self, sock: socket.socket) -> bool:
        """``PING`` must get ``+PONG``."""
        sock.sendall(b"PING\r\n")
        return _Reader(sock).reply() == "PONG"

    def speed_up(self) -> None:
        """Shorten Sentinel's timers (``SENTINEL DEBUG``, Redis 7+; ignored before).

        By default Sentinel polls each node's ``INFO`` every 10 s and waits four
        publish periods (8 s) before it turns a former primary that still claims
        to be one into a replica: in production, a forced failover leaves the
        old primary accepting writes for that long. Tests want the same
        sequence, faster.
        """
        for name, value in _SENTINEL_TIMERS:
            redis_command(self.address, "SENTINEL", "DEBUG", name, value)


@dataclass
class SentinelTopology:
    """A primary, one replica and ``len(sentinels)`` Sentinels; :meth:`failover` swaps the two data nodes."""

    nodes: tuple[RedisServer, RedisServer]
    sentinels: list[SentinelServer] = field(default_factory=list)
    service: str = SERVICE

    @classmethod
    def start(cls, sentinel_count: int = 1, settle_timeout: float = 30.0) -> SentinelTopology:
        """Start the primary, its replica and the Sentinels, and wait until Sentinel could fail over."""
        # No diskless-sync delay: a demoted primary resyncs at once rather than after 5 s.
        primary = RedisServer(extra_args=_DATA_NODE_ARGS)
        replica = RedisServer(extra_args=_DATA_NODE_ARGS)
        topology = cls((primary, replica))
        try:
            primary.start()
            replica.extra_args = (*_DATA_NODE_ARGS, "--replicaof", primary.host, str(primary.port))
            replica.start()
            topology.sentinels = [SentinelServer(primary.address) for _ in range(sentinel_count)]
            for sentinel in topology.sentinels:
                sentinel.start()
                sentinel.speed_up()
            topology.wait_until_settled(primary.address, settle_timeout)
        except BaseException:
            topology.stop()
            raise
        return topology

    @classmethod
    def start_for_test(cls) -> SentinelTopology:
        """:meth:`start`, or the test skipped where redis-server is missing (failed in CI, which installs it)."""
        try:
            return cls.start()
        except ServerNotInstalledError as exc:
            if in_ci():
                pytest.fail(str(exc), pytrace=False)
            pytest.skip(str(exc))

    def stop(self) -> None:
        """Stop every process."""
        stop_all([*self.sentinels, *self.nodes])

    @property
    def url(self) -> str:
        """``redis+sentinel://`` URL naming every Sentinel and the service."""
        hosts = ",".join(f"{s.host}:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}"

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of each Sentinel, the form ``redis.asyncio.sentinel.Sentinel`` takes."""
        return [s.address for s in self.sentinels]

    def primary_address(self) -> tuple[str, int]:
        """Where the first Sentinel says the primary is."""
        reply = redis_command(self.sentinels[0].address, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        assert isinstance(reply, list), reply
        return str(reply[0]), int(reply[1])

    def other_node(self, address: tuple[str, int]) -> RedisServer:
        """The data node that is not at ``address``."""
        return next(node for node in self.nodes if node.address != address)

    def failover(self) -> tuple[str, int]:
        """Ask Sentinel to fail over now (``SENTINEL FAILOVER``); returns the address the primary moves to."""
        target = self.other_node(self.primary_address()).address
        reply = redis_command(self.sentinels[0].address, "SENTINEL", "FAILOVER", self.service)
        if reply != "OK":
            raise RuntimeError(f"SENTINEL FAILOVER failed: {reply!r}")
        return target

    def wait_until_named(self, primary: tuple[str, int], timeout: float = 30.0) -> None:
        """Wait until the first Sentinel names ``primary`` (the switch; the old primary may not know yet)."""
        deadline = time.monotonic() + timeout
        while self.primary_address() != primary:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Sentinel did not name {primary} as the primary within {timeout} s")
            time.sleep(_POLL_S / 5)

    def wait_until_settled(self, primary: tuple[str, int], timeout: float = 30.0) -> None:
        """Wait until every Sentinel names ``primary``, it is a primary, and the other node replicates it.

        Also waits until each Sentinel sees the replica as healthy, so the
        topology can fail over again.
        """
        deadline = time.monotonic() + timeout
        while not self._settled(primary):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Sentinel topology did not settle on {primary} within {timeout} s")
            time.sleep(_POLL_S)

    def _settled(self, primary: tuple[str, int]) -> bool:
        replica = self.other_node(primary).address
        try:
            for sentinel in self.sentinels:
                named = redis_command(sentinel.address, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
                if named != [primary[0], str(primary[1])]:
                    return False
                known = redis_command(sentinel.address, "SENTINEL", "REPLICAS", self.service)
                if not isinstance(known, list) or not any(_healthy_replica(entry, replica) for entry in known):
                    return False
            role = redis_command(primary, "ROLE")
            replica_role = redis_command(replica, "ROLE")
        except OSError:
            return False
        return (
            isinstance(role, list)
            and role[0] == "master"
            and isinstance(replica_role, list)
            and replica_role[0] == "slave"
            and replica_role[3] == "connected"
        )


def _healthy_replica(entry: object, address: tuple[str, int]) -> bool:
    fields = _fields(entry)
    return (
        (fields.get("ip"), fields.get("port")) == (address[0], str(address[1]))
        and fields.get("flags") == "slave"
        and fields.get("master-link-status") == "ok"
    )
