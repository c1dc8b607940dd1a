"""A lean HTTP/1.1 keep-alive load generator that runs in several processes, for servers with several workers.

:mod:`benchmarks._loadgen` (stream reader and writer per connection, in this
process) costs the client tens of µs per request: enough to be the bottleneck
once uvicorn has two workers on a small machine. Here each connection is a bare
:class:`asyncio.Protocol` (one ``write`` per request, the reply parsed from the
bytes received, nothing allocated per request but the reply's bytes), and the
connections are spread over a :class:`LoadFleet` of spawned processes, so the client's
share of the CPU stays small and is measured: every process reports the CPU
time it used in the measured window.

All processes count the replies they receive in one shared wall-clock window
(``start_at`` to ``stop_at``), after a warm-up that also lets every connection
reach the server, so their counts add up to the server's requests per second.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["LoadFleet", "LoadResult"]

_WARM_UP_S = 1.0
# Time for the pool to hand every process its run and for the connections to open.
_DISPATCH_MARGIN_S = 0.5
_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class LoadResult:
    """What the load processes saw in the measured window.

    Attributes:
        requests: Replies received (all ``200``) in the window, every process together.
        seconds: The window's length.
        client_cpu_s: CPU seconds the load processes used in the window (user + system).
    """

    requests: int
    seconds: float
    client_cpu_s: float

    @property
    def per_second(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    @property
    def client_cores(self) -> float:
        """How many cores the load generator kept busy on average (its share of the machine)."""
        return self.client_cpu_s / self.seconds


def _content_length(head: bytes) -> int:
    """The ``content-length`` of a lower-cased response head (0 without one)."""
    marker = head.find(b"content-length:")
    if marker < 0:
        return 0
    line_end = head.find(b"\r\n", marker)
    return int(head[marker + 15 : line_end if line_end >= 0 else len(head)])


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read its reply, send the next, until told to stop."""

    def __init__(self, request: bytes, window: tuple[float, float], done: asyncio.Future[None]) -> None:
        self._request = request
        self._start_at, self._stop_at = window
        self._done = done
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self.counted = 0
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            if not head.startswith(b"http/1.1 200"):
                self._fail(f"expected 200, got {head[:40]!r}")
                return
            length = _content_length(head)
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._answered()

    def _answered(self) -> None:
        now = time.time()
        if now >= self._stop_at:
            self._finish()
            return
        if now >= self._start_at:
            self.counted += 1
        assert self._transport is not None
        self._transport.write(self._request)

    def _fail(self, reason: str) -> None:
        self.error = reason
        self._finish()

    def _finish(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if not self._done.done():
            self._done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self.error = self.error or f"the server closed the connection: {exc!r}"
            self._done.set_result(None)


async def _drive(
    host: str, port: int, request: bytes, connections: int, window: tuple[float, float]
) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    waits: list[asyncio.Future[None]] = []
    protocols: list[_Connection] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        _, protocol = await loop.create_connection(functools.partial(_Connection, request, window, done), host, port)
        waits.append(done)
        protocols.append(protocol)
    late = time.time() - window[0]
    if late > 0:
        raise RuntimeError(f"a load process was ready {late:.2f} s after the measured window opened")
    # CPU time from the window's start: the warm-up's and the connections' costs are left out.
    await asyncio.sleep(window[0] - time.time())
    cpu_started = time.process_time()
    await asyncio.wait_for(asyncio.gather(*waits), timeout=window[1] - time.time() + 30)
    cpu = time.process_time() - cpu_started
    errors = [protocol.error for protocol in protocols if protocol.error]
    if errors:
        raise RuntimeError(f"{len(errors)} of {connections} connections failed: {errors[0]}")
    return sum(protocol.counted for protocol in protocols), cpu


def _announce_ready(ready: Any) -> None:
    """A pool process's initializer: it runs once the process has imported this module."""
    ready.release()


def _process(host: str, port: int, request: bytes, connections: int, window: tuple[float, float]) -> tuple[int, float]:
    """One load process's run (a spawned process's entry point: module level, picklable arguments)."""
    return asyncio.run(_drive(host, port, request, connections, window))


class LoadFleet:
    """``processes`` spawned load processes, kept for several runs (each spawn costs about a second).

    Use it as a context manager: the pool, which owns the processes, stops them on exit.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        # Spawned, not forked: a fork would copy this process's running event loop.
        context = multiprocessing.get_context("spawn")
        self._ready = context.Semaphore(0)
        self._pool = context.Pool(processes, initializer=_announce_ready, initargs=(self._ready,))
        try:
            self._wait_until_started()
        except BaseException:
            self.__exit__()
            raise

    def _wait_until_started(self) -> None:
        # A spawned process takes a second or more to import on a loaded machine: the first
        # run's window must not open before every process can take part.
        # Each process announces itself from the pool's initializer.
        deadline = time.monotonic() + _START_TIMEOUT_S
        for _ in range(self.processes):
            if not self._ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        else:
            return
        raise RuntimeError(f"{self.processes} load processes did not all start within {_START_TIMEOUT_S} s")

    def __enter__(self) -> LoadFleet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.terminate()
        self._pool.join()

    def run(self, host: str, port: int, path: str, seconds: float, connections: int) -> LoadResult:
        """Keep ``connections`` keep-alive connections busy with ``GET path`` for ``seconds`` after a warm-up.

        Each connection sends its next request as soon as the reply arrives.

        Raises:
            ValueError: ``host`` is not a loopback address, or fewer connections than processes.
            RuntimeError: A reply was not ``200``, a connection closed, or a process came late to the window.
        """
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the load generator only targets loopback addresses, got {host!r}")
        if connections < self.processes:
            raise ValueError(f"need at least one connection per process, got {connections} for {self.processes}")
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: traffik-bench\r\n\r\n".encode()
        share, extra = divmod(connections, self.processes)
        start_at = time.time() + _DISPATCH_MARGIN_S + _WARM_UP_S
        window = (start_at, start_at + seconds)
        arguments = [(host, port, request, share + (index < extra), window) for index in range(self.processes)]
        runs = self._pool.starmap(_process, arguments, chunksize=1)
        return LoadResult(sum(count for count, _ in runs), seconds, sum(cpu for _, cpu in runs))
