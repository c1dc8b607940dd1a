"""Lock defaults: environment variables, setters, and per-backend overrides."""

from __future__ import annotations

import os

from traffik import config
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConfigurationError


def main() -> None:
    try:
        # read lazily, at the first get_*()
        os.environ["TRAFFIK_DEFAULT_BLOCKING_TIMEOUT"] = "2.5"
        config.reset_config()
        assert config.get_lock_blocking_timeout() == 2.5

        config.set_lock_ttl(10.0)  # code wins over the environment
        config.set_lock_blocking(True)
        assert (config.get_lock_ttl(), config.get_lock_blocking()) == (10.0, True)

        # A backend's own settings win over both, for the locks it takes.
        backend = InMemoryBackend(
            lock_blocking_timeout=0.1, lock_ttl=5.0, lock_kind="fair"
        )
        assert backend.lock_blocking_timeout == 0.1

        os.environ["TRAFFIK_DEFAULT_BLOCKING"] = "maybe"
        config.reset_config()
        try:
            config.get_lock_blocking()
        except ConfigurationError as exc:
            message = str(exc)
        else:
            raise AssertionError("an invalid environment value must be rejected")
        assert "TRAFFIK_DEFAULT_BLOCKING" in message
        assert "maybe" in message
    finally:
        os.environ.pop("TRAFFIK_DEFAULT_BLOCKING_TIMEOUT", None)
        os.environ.pop("TRAFFIK_DEFAULT_BLOCKING", None)
        config.reset_config()
