"""A throttle's settings, normalised once at construction into one immutable snapshot.

``update_*`` methods build a new snapshot and assign it in one statement, so a
hit running concurrently sees either the old settings or the new ones, never
a mix. "String or Rate or callable" arguments become a constant plus an
optional callable here, so the hit path never inspects types.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Union

from traffik.backends.base import ErrorPolicy, ThrottleBackend, validate_on_error
from traffik.exceptions import ConfigurationError
from traffik.headers import Headers
from traffik.headers._headers import as_headers
from traffik.rates import MAX_EXACT_INT, Rate
from traffik.strategies import ThrottleStrategy

__all__ = [
    "Bound",
    "Config",
    "CostFunc",
    "RateFunc",
    "is_async_callable",
    "normalise_backend",
    "normalise_callable",
    "normalise_cost",
    "normalise_min_wait",
    "normalise_rate",
    "normalise_strategy",
]

RateFunc = Callable[[Any, Mapping[str, Any]], Union[Rate, Awaitable[Rate]]]
CostFunc = Callable[[Any, Mapping[str, Any]], Union[int, Awaitable[int]]]


def is_async_callable(fn: object) -> bool:
    """Whether calling ``fn`` returns an awaitable (coroutine functions, async ``__call__``, partials)."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004  # instances with an async __call__
    return call is not None and inspect.iscoroutinefunction(call)


@dataclasses.dataclass(slots=True)
class Bound:
    """Settings that depend on the backend in use (its defaults fill the throttle's gaps)."""

    backend: ThrottleBackend
    strategy: ThrottleStrategy
    identifier: Callable[..., Any]
    identifier_is_async: bool
    handle_throttled: Callable[..., Any] | None
    on_error: ErrorPolicy
    timeout: float | None


@dataclasses.dataclass(slots=True)
class Config:
    """Everything a hit reads, swapped as a whole by ``update_*``."""

    rate: Rate | None
    rate_func: RateFunc | None
    cost: int | None
    cost_func: CostFunc | None
    backend: ThrottleBackend | None
    strategy: ThrottleStrategy | None
    identifier: Callable[..., Any] | None
    handle_throttled: Callable[..., Any] | None
    headers: Headers | None
    on_error: ErrorPolicy | None
    min_wait_period: float
    # Cache of the last backend resolution; a new Config starts empty, so an
    # update never serves settings bound to the previous configuration.
    bound: tuple[ThrottleBackend, Bound] | None = None

    def evolve(self, **changes: Any) -> Config:
        """A new snapshot with ``changes`` applied (and no cached binding)."""
        return dataclasses.replace(self, bound=None, **changes)


def normalise_rate(value: object, owner: str) -> tuple[Rate | None, RateFunc | None]:
    """``"100/min"`` / ``Rate`` / callable -> (static rate, callable)."""
    if isinstance(value, Rate):
        return value, None
    if isinstance(value, str):
        try:
            return Rate.parse(value), None
        except ConfigurationError as exc:
            raise ConfigurationError(f"{owner}: invalid rate {value!r}: {exc}") from None
    if callable(value):
        return None, value
    raise ConfigurationError(f"{owner}: rate must be a rate string, a Rate or an async callable, got {value!r}")


def normalise_cost(value: object, owner: str) -> tuple[int | None, CostFunc | None]:
    """``int`` / callable -> (static cost, callable)."""
    if isinstance(value, bool):
        raise ConfigurationError(f"{owner}: cost must be a non-negative int or an async callable, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ConfigurationError(f"{owner}: cost must not be negative, got {value!r}")
        if value > MAX_EXACT_INT:
            raise ConfigurationError(f"{owner}: cost must be at most 2**53 = {MAX_EXACT_INT}, got {value!r}")
        return value, None
    if callable(value):
        return None, value
    raise ConfigurationError(f"{owner}: cost must be a non-negative int or an async callable, got {value!r}")


def normalise_min_wait(value: object, owner: str) -> float:
    """``None`` / non-negative number of milliseconds -> float."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(
            f"{owner}: min_wait_period must be a non-negative number of milliseconds or None, got {value!r}"
        )
    return float(value)


def normalise_callable(value: object, name: str, owner: str) -> Callable[..., Any] | None:
    """``None`` or a callable, else :class:`ConfigurationError`."""
    if value is None or callable(value):
        return value
    raise ConfigurationError(f"{owner}: {name} must be callable or None, got {value!r}")


def normalise_backend(value: object, owner: str) -> ThrottleBackend | None:
    """``None`` or a :class:`ThrottleBackend`."""
    if value is None or isinstance(value, ThrottleBackend):
        return value
    raise ConfigurationError(f"{owner}: backend must be a ThrottleBackend or None, got {value!r}")


def normalise_strategy(value: object, owner: str) -> ThrottleStrategy | None:
    """``None`` or a :class:`ThrottleStrategy` instance."""
    if value is None or isinstance(value, ThrottleStrategy):
        return value
    if isinstance(value, type) and issubclass(value, ThrottleStrategy):
        raise ConfigurationError(f"{owner}: strategy must be an instance, e.g. {value.__name__}(), got the class")
    raise ConfigurationError(f"{owner}: strategy must be a ThrottleStrategy instance or None, got {value!r}")


def normalise_on_error(value: object, owner: str) -> ErrorPolicy | None:
    """``None`` or a valid ``on_error`` policy."""
    return None if value is None else validate_on_error(value, owner)


def normalise_headers(value: object, owner: str) -> Headers | None:
    """``None`` or a private :class:`Headers` copy."""
    return as_headers(value, owner)
