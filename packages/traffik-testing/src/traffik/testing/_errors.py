"""The errors :mod:`traffik.testing` raises: its own, never the limiter's."""

from __future__ import annotations

__all__ = ["ServerError", "ServerNotInstalledError", "ServerOptionError"]


class ServerError(RuntimeError):
    """A test server could not be started, reached or stopped (base of this package's errors)."""


class ServerOptionError(ServerError, ValueError):
    """A test server was given an option out of range; the message names the option and the value."""


class ServerNotInstalledError(ServerError):
    """The server's executable is not on ``PATH``.

    Attributes:
        executable: The program that was looked for (``"redis-server"``).
        apt_package: The Debian package that provides it.
    """

    def __init__(self, executable: str, apt_package: str) -> None:
        self.executable = executable
        self.apt_package = apt_package
        super().__init__(
            f"{executable} was not found on PATH; it comes with the Debian package {apt_package}: "
            f"apt-get install -y {apt_package}"
        )
