"""Retry: repeat a failed backend call a few times before giving up to another policy."""

from __future__ import annotations

import asyncio
import math
import random
from typing import TYPE_CHECKING, Any

from traffik._error_policy import ExceptionInfo, resolve_error
from traffik.backends.base import ErrorPolicy, validate_on_error
from traffik.error_handlers._backoff import Backoff, check_backoff, compute_delay
from traffik.error_handlers._calls import call_backend, timeout_of, wait_of
from traffik.error_handlers._monitor import note_failure
from traffik.exceptions import BackendError, ConfigurationError

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

__all__ = ["Retry", "retry"]


def _check_seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"retry: {name} must be a non-negative number of seconds, got {value!r}")
    return float(value)


def _check_retry_on(value: object) -> tuple[type[BaseException], ...]:
    classes = value if isinstance(value, tuple) else (value,)
    if not classes or not all(isinstance(cls, type) and issubclass(cls, Exception) for cls in classes):
        raise ConfigurationError(f"retry: retry_on must be an exception class or a tuple of them, got {value!r}")
    return classes


class Retry:
    """An ``on_error`` policy that repeats the failed call up to ``max_retries`` times.

    A retry that succeeds answers the request with that call's decision (admit
    or reject as the limit says). When every retry fails, or the error is not
    one of ``retry_on``, ``on_error`` decides (default ``"throttle"``; another
    policy such as :func:`~traffik.error_handlers.failover` composes here).

    Each retry is bounded by the backend's timeout, so the worst case a request
    waits is ``max_retries * (delay + timeout)`` on top of the first call:
    keep both small.

    Args:
        max_retries: Retries after the first failure (>= 0).
        retry_delay: Base delay in seconds.
        backoff: ``"constant"``, ``"linear"`` or ``"exponential"``.
        retry_on: Exception class(es) worth retrying (default: :class:`~traffik.exceptions.BackendError`).
        on_error: Policy once retries are exhausted or not applicable.
        max_delay: Cap on one delay, seconds.
        jitter: Randomise delays (default: only for ``"exponential"``).

    Example:
        >>> policy = retry(max_retries=3, retry_delay=0.25, backoff="exponential")
        >>> policy.delays(jitter=False)
        [0.25, 0.5, 1.0]
    """

    def __init__(
        self,
        max_retries: int = 2,
        retry_delay: float = 0.05,
        backoff: Backoff = "exponential",
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = BackendError,
        on_error: ErrorPolicy = "throttle",
        *,
        max_delay: float = 1.0,
        jitter: bool | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"retry: max_retries must be an int >= 0, got {max_retries!r}")
        if jitter is not None and not isinstance(jitter, bool):
            raise ConfigurationError(f"retry: jitter must be True, False or None, got {jitter!r}")
        self.max_retries = max_retries
        self.retry_delay = _check_seconds(retry_delay, "retry_delay")
        self.backoff: Backoff = check_backoff(backoff)
        self.retry_on = _check_retry_on(retry_on)
        self.on_error: ErrorPolicy = validate_on_error(on_error, "retry")
        self.max_delay = _check_seconds(max_delay, "max_delay")
        self.jitter = self.backoff == "exponential" if jitter is None else jitter
        self._rng = rng
        self.retries = 0
        """Retries made so far (an operator's counter)."""
        self.recovered = 0
        """Failed calls that a retry answered."""

    def delay(self, attempt: int, jitter: bool | None = None) -> float:
        """Seconds before retry number ``attempt`` (1-based)."""
        use_jitter = self.jitter if jitter is None else jitter
        return compute_delay(self.backoff, self.retry_delay, attempt, self.max_delay, use_jitter, self._rng)

    def delays(self, jitter: bool | None = None) -> list[float]:
        """The delay before each retry, in order."""
        return [self.delay(attempt, jitter) for attempt in range(1, self.max_retries + 1)]

    async def __call__(self, connection: HTTPConnection, info: ExceptionInfo) -> Any:
        """Retry the call described by ``info``; fall back to ``on_error`` when it keeps failing."""
        if not isinstance(info["exception"], self.retry_on):
            return await resolve_error(self.on_error, connection, info)
        backend = info["backend"]
        timeout = timeout_of(backend)
        last = info
        for attempt in range(1, self.max_retries + 1):
            await asyncio.sleep(self.delay(attempt))
            self.retries += 1
            try:
                decision = await call_backend(
                    backend, timeout, info["consume"], info["key"], info["strategy"], info["rate"], info["cost"]
                )
            except ConfigurationError:
                raise
            except Exception as exc:
                note_failure(backend, exc)
                last = {**info, "exception": exc}
                if not isinstance(exc, self.retry_on):
                    break
                continue
            self.recovered += 1
            return wait_of(decision)
        return await resolve_error(self.on_error, connection, last)

    def __repr__(self) -> str:
        return (
            f"retry(max_retries={self.max_retries!r}, retry_delay={self.retry_delay!r}, "
            f"backoff={self.backoff!r}, on_error={self.on_error!r})"
        )


def retry(
    max_retries: int = 2,
    retry_delay: float = 0.05,
    backoff: Backoff = "exponential",
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = BackendError,
    on_error: ErrorPolicy = "throttle",
    *,
    max_delay: float = 1.0,
    jitter: bool | None = None,
) -> Retry:
    """An ``on_error`` policy that retries the failed call; see :class:`Retry`.

    Example:
        >>> retry(max_retries=3, retry_delay=0.25, backoff="linear").delays()
        [0.25, 0.5, 0.75]
    """
    return Retry(max_retries, retry_delay, backoff, retry_on, on_error, max_delay=max_delay, jitter=jitter)
