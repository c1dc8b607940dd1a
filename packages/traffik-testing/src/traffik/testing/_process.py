"""One server process on a loopback port, started and stopped by PID: the base of the test servers.

Backend tests talk to real servers rather than mocks; a :class:`ServerProcess`
starts one on a free loopback port, waits until it answers, and stops it by
PID. It also freezes (``SIGSTOP``), thaws (``SIGCONT``), crashes (``SIGKILL``)
and restarts the process, which is how fault tests simulate a hung or dead
server without mocking the client library.

Only the standard library is used, the API is synchronous and every wait is
bounded by a deadline.
"""

from __future__ import annotations

import abc
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Protocol, TypeVar

from traffik.clock import monotonic_ms
from traffik.testing._errors import ServerError, ServerNotInstalledError, ServerOptionError
from traffik.testing._ports import LOOPBACK, free_port
from traffik.testing._running import forget_running, track_running

__all__ = ["ServerFactory", "ServerProcess", "read_line"]

_POLL_INTERVAL_S = 0.02
# Attempts at starting on a freshly picked port: another process may take the
# port between the moment we find it free and the moment the server binds it.
_PORT_ATTEMPTS = 3
_LOG_TAIL_BYTES = 2_000


def _validate_positive(value: object, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ServerOptionError(f"{owner}: {name} must be a positive, finite number of seconds, got {value!r}")
    return float(value)


class ServerProcess(abc.ABC):
    """One server process on a loopback port, started and stopped by PID.

    Subclasses say which executable to run, with which arguments, and how to
    check that it answers. The port is picked at the first :meth:`start` (unless
    given) and kept across :meth:`restart`, so clients can reconnect.

    Args:
        port: TCP port to listen on; ``None`` picks a free one.
        host: Address to bind; loopback only, as tests must not listen outside.
        executable: Path of the server program; ``None`` looks it up on ``PATH``.
        startup_timeout: Seconds to wait for the server to answer after starting.
        stop_timeout: Seconds to wait after ``SIGTERM`` before sending ``SIGKILL``.
        extra_args: More command-line arguments for the server.

    Raises:
        ServerOptionError: A parameter is out of range.
    """

    EXECUTABLE: ClassVar[str]
    """Program name looked up on ``PATH``."""
    APT_PACKAGE: ClassVar[str]
    """Debian package that provides :attr:`EXECUTABLE`."""
    SCHEME: ClassVar[str]
    """URL scheme of :attr:`url`."""

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = LOOPBACK,
        executable: str | None = None,
        startup_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        owner = type(self).__name__
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise ServerOptionError(f"{owner}: port must be an integer in 1..65535 or None, got {port!r}")
        if not isinstance(host, str) or not host.startswith("127."):
            raise ServerOptionError(f"{owner}: host must be a 127.x.x.x loopback address, got {host!r}")
        if isinstance(extra_args, str):
            raise ServerOptionError(f"{owner}: extra_args must be a sequence of strings, got {extra_args!r}")
        self._host = host
        self._port = port
        self._executable = executable
        self.startup_timeout = _validate_positive(startup_timeout, "startup_timeout", owner)
        self.stop_timeout = _validate_positive(stop_timeout, "stop_timeout", owner)
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._paused = False

    # -- what a subclass provides ------------------------------------------

    @abc.abstractmethod
    def command(self, executable: str, port: int, workdir: Path) -> list[str]:
        """The full command line that runs the server on ``port``."""

    @abc.abstractmethod
    def probe(self, sock: socket.socket) -> bool:
        """Send one request on a connected socket; ``True`` if the server answered as expected."""

    # -- looking up the executable -----------------------------------------

    @classmethod
    def find_executable(cls) -> str | None:
        """The path of :attr:`EXECUTABLE` on ``PATH``, or ``None``."""
        return shutil.which(cls.EXECUTABLE)

    def _require_executable(self) -> str:
        found = shutil.which(self._executable) if self._executable is not None else self.find_executable()
        if found is None:
            raise ServerNotInstalledError(self._executable or self.EXECUTABLE, self.APT_PACKAGE)
        return found

    # -- where it is ---------------------------------------------------------

    @property
    def host(self) -> str:
        """The loopback address the server binds."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port; picked at the first :meth:`start` unless given."""
        if self._port is None:
            raise ServerError(f"{type(self).__name__} has no port yet: call start() first")
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``, the form backends and sockets take."""
        return (self.host, self.port)

    @property
    def url(self) -> str:
        """A connection URL such as ``redis://127.0.0.1:6390``."""
        return f"{self.SCHEME}://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._process is None:
            raise ServerError(f"{type(self).__name__} is not running")
        return self._process.pid

    @property
    def is_running(self) -> bool:
        """Whether the process exists (a paused process is still running)."""
        return self._process is not None and self._process.poll() is None

    @property
    def is_paused(self) -> bool:
        """Whether the process is stopped by :meth:`pause`."""
        return self._paused and self.is_running

    # -- life cycle ----------------------------------------------------------

    def start(self) -> None:
        """Start the server and return once it answers.

        Raises:
            ServerNotInstalledError: The executable is not on ``PATH``.
            ServerError: It is already running, exited early, or did not answer in time.
        """
        if self.is_running:
            raise ServerError(f"{self!r} is already running")
        executable = self._require_executable()
        # A port chosen by the caller, or kept from an earlier start, is not ours to change.
        attempts = 1 if self._port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if self._port is None:
                self._port = free_port(self._host)
            try:
                self._spawn(executable)
                return
            except _ExitedEarly as exc:
                if attempt == attempts:
                    raise ServerError(str(exc)) from None
                # The port was probably taken meanwhile; try another one.
                self._port = None

    def stop(self) -> None:
        """Stop the server: ``SIGTERM``, then ``SIGKILL`` if it outlives :attr:`stop_timeout`.

        Safe to call when it is not running. Removes the server's scratch directory.
        """
        self._request_stop()
        process = self._process
        if process is not None and process.poll() is None:
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.stop_timeout)
        self._forget_process()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def kill(self) -> None:
        """Crash the server with ``SIGKILL`` (no clean shutdown) and reap it.

        The port is kept, so :meth:`start` or :meth:`restart` bring it back at the same address.
        """
        process = self._running_process("kill")
        process.kill()
        process.wait(timeout=self.stop_timeout)
        self._forget_process()

    def pause(self) -> None:
        """Freeze the server with ``SIGSTOP``: connections stay open but nothing is answered.

        Returns once the process is stopped, not merely signalled.
        """
        process = self._running_process("pause")
        process.send_signal(signal.SIGSTOP)
        self._await_status(process, os.WUNTRACED, os.WIFSTOPPED, "stop")
        self._paused = True

    def resume(self) -> None:
        """Thaw a server frozen by :meth:`pause` with ``SIGCONT``; returns once it runs again."""
        process = self._running_process("resume")
        process.send_signal(signal.SIGCONT)
        if self._paused:
            self._await_status(process, os.WCONTINUED, os.WIFCONTINUED, "continue")
        self._paused = False

    def restart(self) -> None:
        """Stop the server (if running) and start it again on the same port, with no data."""
        self.stop()
        self.start()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{self._host}:{self._port}" if self._port is not None else self._host
        state = "paused" if self.is_paused else "running" if self.is_running else "stopped"
        return f"{type(self).__name__}({where}, {state})"

    # -- internals -----------------------------------------------------------

    def _running_process(self, action: str) -> subprocess.Popen[bytes]:
        process = self._process
        if process is None or process.poll() is not None:
            raise ServerError(f"cannot {action} {self!r}: it is not running")
        return process

    def _await_status(
        self, process: subprocess.Popen[bytes], option: int, reached: Callable[[int], bool], what: str
    ) -> None:
        # Signals are delivered asynchronously; waitpid() reports when the child
        # has actually stopped or continued (without reaping it).
        deadline = monotonic_ms() + self.stop_timeout * 1000.0
        while True:
            pid, status = os.waitpid(process.pid, os.WNOHANG | option)
            if pid == process.pid and reached(status):
                return
            if pid == process.pid and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
                process.returncode = os.waitstatus_to_exitcode(status)
                raise ServerError(f"{self.EXECUTABLE} (pid {process.pid}) exited before it could {what}")
            if monotonic_ms() >= deadline:
                raise ServerError(
                    f"{self.EXECUTABLE} (pid {process.pid}) did not {what} within {self.stop_timeout:g} s"
                )
            time.sleep(_POLL_INTERVAL_S / 4)

    def _request_stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if self._paused:
                # A stopped process only acts on SIGTERM once it runs again.
                process.send_signal(signal.SIGCONT)

    def _forget_process(self) -> None:
        self._process = None
        self._paused = False
        forget_running(self)

    def _spawn(self, executable: str) -> None:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"traffik-{self.EXECUTABLE}-"))
        port = self.port
        log_path = self._workdir / "server.log"
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*self.command(executable, port, self._workdir), *self.extra_args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                # Its own session, so a Ctrl-C aimed at the test run does not reach
                # the server before the fixtures get to stop it in order.
                start_new_session=True,
            )
        self._paused = False
        track_running(self)
        try:
            self._wait_until_ready(log_path)
        except BaseException:
            self._terminate_quietly()
            raise

    def _wait_until_ready(self, log_path: Path) -> None:
        process = self._process
        assert process is not None  # set by _spawn just before
        deadline = monotonic_ms() + self.startup_timeout * 1000.0
        while True:
            if process.poll() is not None:
                raise _ExitedEarly(
                    f"{self.EXECUTABLE} exited with status {process.returncode} while starting on port "
                    f"{self._port}:\n{_tail(log_path)}"
                )
            if self._answers():
                return
            if monotonic_ms() >= deadline:
                raise ServerError(
                    f"{self.EXECUTABLE} (pid {process.pid}) did not answer on {self._host}:{self._port} "
                    f"within {self.startup_timeout:g} s:\n{_tail(log_path)}"
                )
            time.sleep(_POLL_INTERVAL_S)

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self._host, self.port), timeout=0.5) as sock:
                return self.probe(sock)
        except OSError:
            return False

    def _terminate_quietly(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=self.stop_timeout)
        self._forget_process()


ServerT = TypeVar("ServerT", bound=ServerProcess)


class ServerFactory(Protocol):
    """Starts the server that ``build`` (usually the class itself) makes, and returns it.

    The type of a fixture handing out private servers, e.g.
    ``server_factory(RedisServer)`` or ``server_factory(lambda: MemcachedServer(memory_mb=8))``.
    """

    def __call__(self, build: Callable[[], ServerT], /) -> ServerT:
        """Build, start and return a server."""
        ...


class _ExitedEarly(Exception):
    """The process died during start-up (typically: the port was taken)."""


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return "(no server log)"
    return data[-_LOG_TAIL_BYTES:].decode("utf-8", errors="replace").strip() or "(empty server log)"


def read_line(sock: socket.socket) -> bytes:
    """Bytes read from ``sock`` up to the first ``CRLF`` (or until the peer closes): one reply line."""
    buffer = b""
    while b"\r\n" not in buffer:
        chunk = sock.recv(256)
        if not chunk:
            break
        buffer += chunk
    return buffer
