"""Starting test servers from pytest fixtures: fail in CI, skip elsewhere, when one is missing."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from traffik.testing._errors import ServerNotInstalledError
from traffik.testing._process import ServerProcess
from traffik.testing._running import stop_all

__all__ = ["in_ci", "start_servers"]


def in_ci() -> bool:
    """Whether the ``CI`` environment variable says this run is CI's."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def start_servers(servers: Sequence[ServerProcess]) -> None:
    """Start ``servers``; on a missing executable stop them, then fail (CI) or skip, naming the package."""
    try:
        for server in servers:
            server.start()
    except ServerNotInstalledError as exc:
        stop_all(servers)
        if in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    except BaseException:
        stop_all(servers)
        raise
