"""A throttle's settings, normalised once at construction into one immutable snapshot.

``update_*`` methods build a new snapshot and assign it in one statement, so a
hit running concurrently sees either the old settings or the new ones, never
a mix. "String or Rate or callable" arguments become a constant plus an
optional callable here, so the hit path never inspects types.

A snapshot bound to the backend in use (:class:`Bound`) is computed once per
(snapshot, backend) and cached on the snapshot: the backend's defaults, the
strategy, the error policy's routing and the call timeout are never looked
up per hit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Final

from traffik._error_policy import backend_timeout, bounded
from traffik.backends.base import ErrorPolicy, ThrottleBackend, validate_on_error
from traffik.events._dispatch import load_plugin_observers_or_log
from traffik.exceptions import ConfigurationError
from traffik.headers import Headers
from traffik.headers._headers import as_headers
from traffik.identifiers import get_remote_address
from traffik.rates import MAX_EXACT_INT, Rate
from traffik.strategies import DEFAULT_STRATEGY_CLASS, Decision, ThrottleStrategy
from traffik.types import CostFunc, IdentifierFunc, RateFunc, ThrottledHandler
from traffik.validation import Validator, callable_, non_negative_number, optional

__all__ = [
    "Bound",
    "Config",
    "bind",
    "normalise_backend",
    "normalise_callable",
    "normalise_cost",
    "normalise_headers",
    "normalise_min_wait",
    "normalise_on_error",
    "normalise_rate",
    "normalise_strategy",
]

_DEFAULT_STRATEGY: Final = DEFAULT_STRATEGY_CLASS()

_optional_callable: Final = optional(callable_())
# Validator() rather than instance_of(): mypy refuses an abstract class where instance_of wants type[T].
_optional_backend: Final[Validator[ThrottleBackend | None]] = optional(
    Validator("a ThrottleBackend", lambda value: isinstance(value, ThrottleBackend))
)
_optional_strategy: Final[Validator[ThrottleStrategy | None]] = optional(
    Validator("a ThrottleStrategy instance", lambda value: isinstance(value, ThrottleStrategy))
)
_min_wait: Final = optional(non_negative_number(unit="milliseconds", finite=True))


BackendCall = Callable[[str, ThrottleStrategy, Rate, int], Awaitable[Decision]]
"""``backend.hit`` or ``backend.peek``: ``(key, strategy, rate, cost) -> Decision``."""


def _bounded_call(call: BackendCall, timeout: float | None, name: str) -> BackendCall:
    """``call`` itself when it cannot block (``timeout is None``), else ``call`` bounded by ``timeout``."""
    if timeout is None:
        return call

    def bounded_call(key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Awaitable[Decision]:
        return bounded(call(key, strategy, rate, cost), timeout, name)

    return bounded_call


@dataclasses.dataclass(slots=True)
class Bound:
    """Settings that depend on the backend in use (its defaults fill the throttle's gaps).

    ``consume`` and ``peek`` are the backend's ``hit`` and ``peek``, bound to
    the call timeout once here rather than checked on every hit.
    """

    backend: ThrottleBackend
    consume: BackendCall
    peek: BackendCall
    strategy: ThrottleStrategy
    identifier: IdentifierFunc
    handle_throttled: ThrottledHandler | None
    on_error: ErrorPolicy
    backend_name: str  # the backend's NAME, for decision events


@dataclasses.dataclass(slots=True)
class Config:
    """Everything a hit reads, swapped as a whole by ``update_*``."""

    rate: Rate | None
    rate_func: RateFunc | None
    cost: int | None
    cost_func: CostFunc | None
    backend: ThrottleBackend | None
    strategy: ThrottleStrategy | None
    identifier: IdentifierFunc | None
    handle_throttled: ThrottledHandler | None
    headers: Headers | None
    on_error: ErrorPolicy | None
    min_wait_period: float
    # Cache of the last backend resolution; a new Config starts empty, so an
    # update never serves settings bound to the previous configuration.
    bound: tuple[ThrottleBackend, Bound] | None = None

    def evolve(self, **changes: Any) -> Config:
        """A new snapshot with ``changes`` applied (and no cached binding)."""
        return dataclasses.replace(self, bound=None, **changes)


def bind(config: Config, backend: ThrottleBackend) -> Bound:
    """``config`` bound to ``backend``, cached on ``config`` for the next hit on the same backend."""
    cached = config.bound
    if cached is not None and cached[0] is backend:
        return cached[1]
    resolved = backend
    identifier: IdentifierFunc = config.identifier or backend.identifier or get_remote_address
    on_error = config.on_error if config.on_error is not None else backend.on_error
    # A policy that routes calls itself (traffik.error_handlers.failover) wraps the backend once per binding.
    route = getattr(on_error, "route_backend", None)
    if route is not None:
        backend = route(backend)
    timeout = backend_timeout(backend)
    name = type(backend).__name__
    bound = Bound(
        backend=backend,
        consume=_bounded_call(backend.hit, timeout, name),
        peek=_bounded_call(backend.peek, timeout, name),
        strategy=config.strategy or getattr(backend, "default_strategy", None) or _DEFAULT_STRATEGY,
        identifier=identifier,
        handle_throttled=config.handle_throttled or backend.handle_throttled,
        on_error=on_error,
        backend_name=_name_of(backend),
    )
    # Observers that plugins declare are collected here, once per process, off the per-request path.
    load_plugin_observers_or_log()
    config.bound = (resolved, bound)
    return bound


def _name_of(backend: ThrottleBackend) -> str:
    name = getattr(type(backend), "NAME", None)
    return name if isinstance(name, str) else type(backend).__name__


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
    wait = _min_wait(owner, "min_wait_period", value)
    return 0.0 if wait is None else wait


def normalise_callable(value: object, name: str, owner: str) -> Callable[..., Any] | None:
    """``None`` or a callable, else :class:`ConfigurationError`."""
    return _optional_callable(owner, name, value)


def normalise_backend(value: object, owner: str) -> ThrottleBackend | None:
    """``None`` or a :class:`ThrottleBackend`."""
    return _optional_backend(owner, "backend", value)


def normalise_strategy(value: object, owner: str) -> ThrottleStrategy | None:
    """``None`` or a :class:`ThrottleStrategy` instance."""
    if isinstance(value, type) and issubclass(value, ThrottleStrategy):
        raise ConfigurationError(f"{owner}: strategy must be an instance, e.g. {value.__name__}(), got the class")
    return _optional_strategy(owner, "strategy", value)


def normalise_on_error(value: object, owner: str) -> ErrorPolicy | None:
    """``None`` or a valid ``on_error`` policy."""
    return None if value is None else validate_on_error(value, owner)


def normalise_headers(value: object, owner: str) -> Headers | None:
    """``None`` or a private :class:`Headers` copy."""
    return as_headers(value, owner)
