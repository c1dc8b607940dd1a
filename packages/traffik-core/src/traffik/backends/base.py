"""The contract every backend follows, and the generic (slow) execution path.

A backend stores strategy states and applies a strategy's step to them
atomically. Backends that can do so natively (in-process, Lua, CAS) override
:meth:`ThrottleBackend.hit` and :meth:`ThrottleBackend.peek`; a third-party
backend that only implements :meth:`load_state`, :meth:`store_state` and
:meth:`clear` gets a correct lock + read + step + write path for free.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union

from traffik.clock import Clock, monotonic_ms
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies._base import UNLIMITED_DECISION, Decision, State, ThrottleStrategy, with_reset

if TYPE_CHECKING:
    from traffik.locks import AsyncLock

__all__ = [
    "ErrorPolicy",
    "ThrottleBackend",
    "decode_state",
    "encode_state",
    "get_active_backend",
    "peek_or_reset",
    "step_or_reset",
    "validate_on_error",
]

ErrorPolicy = Union[Literal["allow", "throttle", "raise"], Callable[..., Awaitable[Any]]]
"""What to do when a backend call fails: fail open, fail closed, re-raise, or ask a callable."""

_ERROR_POLICIES = ("allow", "throttle", "raise")
_logger = logging.getLogger(__name__)

_active_backend: contextvars.ContextVar[ThrottleBackend | None] = contextvars.ContextVar(
    "traffik_active_backend", default=None
)
# A lifespan runs in its own task, so a context variable set there is invisible
# to request tasks; the backend installed by the most recent lifespan is kept
# here as the process-wide fallback.
_installed_backends: list[ThrottleBackend] = []


def get_active_backend() -> ThrottleBackend | None:
    """The backend of the active context: ``async with backend:`` first, else the lifespan-installed one."""
    backend = _active_backend.get()
    if backend is not None:
        return backend
    return _installed_backends[-1] if _installed_backends else None


def validate_on_error(value: object, owner: str) -> ErrorPolicy:
    """Return ``value`` if it is a valid ``on_error`` policy, else raise naming ``owner``."""
    if isinstance(value, str):
        if value in _ERROR_POLICIES:
            return value  # type: ignore[return-value]  # mypy cannot narrow a str to the Literal by membership
    elif callable(value):
        return value
    raise ConfigurationError(f"{owner}: on_error must be 'allow', 'throttle', 'raise' or a callable, got {value!r}")


def _validate_optional_seconds(value: object, name: str, owner: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise ConfigurationError(f"{owner}: {name} must be a non-negative number of seconds or None, got {value!r}")
    return float(value)


def encode_state(state: State) -> bytes:
    """Serialise a state for a byte store (exact: ``repr`` of a float round-trips)."""
    return ",".join(map(repr, state)).encode("ascii")


def decode_state(raw: bytes | str) -> State:
    """Inverse of :func:`encode_state`.

    Raises:
        ValueError: ``raw`` is not a list of finite numbers (corrupt or foreign data;
            a caller treats it as no state).
    """
    text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    state = tuple(float(part) for part in text.split(","))
    # No strategy stores inf or nan; such a value is garbage that float() happened to accept.
    if not all(math.isfinite(value) for value in state):
        raise ValueError(f"not a state: {text[:64]!r}")
    return state


# What a strategy's step raises when handed a state of another shape (wrong length, wrong values).
_UNREADABLE_STATE_ERRORS = (ValueError, TypeError, IndexError, ArithmeticError)


def step_or_reset(
    strategy: ThrottleStrategy, state: State | None, now: float, cost: int, rate: Rate, key: str = ""
) -> tuple[State | None, Decision]:
    """``strategy.step``, treating a stored state the strategy cannot read as no state.

    A store shared with other software (or damaged) can hold a value that
    decodes to numbers of the wrong shape; the request is then decided as if
    the key were new (its state is overwritten by the result) and a warning is
    logged, instead of failing every request on that key until it expires.
    """
    if state is None:
        return strategy.step(None, now, cost, rate)
    try:
        return strategy.step(state, now, cost, rate)
    except ConfigurationError:
        raise
    except _UNREADABLE_STATE_ERRORS as exc:
        _logger.warning(
            "discarding an unreadable %s state under %r: %s: %s", strategy.NAME, key, type(exc).__name__, exc
        )
        return strategy.step(None, now, cost, rate)


def peek_or_reset(
    strategy: ThrottleStrategy, state: State | None, now: float, cost: int, rate: Rate, key: str = ""
) -> Decision:
    """``strategy.peek``, treating a stored state the strategy cannot read as no state (see :func:`step_or_reset`)."""
    if state is None:
        return strategy.peek(None, now, cost, rate)
    try:
        return strategy.peek(state, now, cost, rate)
    except ConfigurationError:
        raise
    except _UNREADABLE_STATE_ERRORS as exc:
        _logger.warning("ignoring an unreadable %s state under %r: %s: %s", strategy.NAME, key, type(exc).__name__, exc)
        return strategy.peek(None, now, cost, rate)


class ThrottleBackend(abc.ABC):
    """Base class of every storage backend.

    Args:
        namespace: Prefix that isolates this backend's keys from others.
        persistent: Keep data when the lifespan ends (otherwise the namespace is cleared).
        on_error: Default failure policy for throttles that set none.
        identifier: Default identifier for throttles that set none.
        handle_throttled: Default throttled handler for throttles that set none.
        lock_blocking: Override of ``TRAFFIK_DEFAULT_BLOCKING`` for this backend's locks.
        lock_ttl: Override of ``TRAFFIK_DEFAULT_LOCK_TTL`` (seconds).
        lock_blocking_timeout: Override of ``TRAFFIK_DEFAULT_BLOCKING_TIMEOUT`` (seconds).
        clock: Milliseconds clock; tests inject a :class:`~traffik.clock.ManualClock`.
    """

    NAME: ClassVar[str]
    """Registry name, e.g. ``"inmemory"``."""
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ()
    """URL schemes :func:`traffik.backends.backend_from_url` maps to this backend."""

    def __init__(
        self,
        namespace: str,
        *,
        persistent: bool = False,
        on_error: ErrorPolicy = "throttle",
        identifier: Callable[..., Any] | None = None,
        handle_throttled: Callable[..., Any] | None = None,
        lock_blocking: bool | None = None,
        lock_ttl: float | None = None,
        lock_blocking_timeout: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError(f"{owner}: namespace must be a non-empty string, got {namespace!r}")
        if not isinstance(persistent, bool):
            raise ConfigurationError(f"{owner}: persistent must be True or False, got {persistent!r}")
        if identifier is not None and not callable(identifier):
            raise ConfigurationError(f"{owner}: identifier must be callable or None, got {identifier!r}")
        if handle_throttled is not None and not callable(handle_throttled):
            raise ConfigurationError(f"{owner}: handle_throttled must be callable or None, got {handle_throttled!r}")
        if lock_blocking is not None and not isinstance(lock_blocking, bool):
            raise ConfigurationError(f"{owner}: lock_blocking must be True, False or None, got {lock_blocking!r}")
        if clock is not None and not callable(clock):
            raise ConfigurationError(f"{owner}: clock must be a callable returning milliseconds, got {clock!r}")
        self.namespace = namespace
        self.persistent = persistent
        self.on_error: ErrorPolicy = validate_on_error(on_error, owner)
        self.identifier = identifier
        self.handle_throttled = handle_throttled
        self.lock_blocking = lock_blocking
        self.lock_ttl = _validate_optional_seconds(lock_ttl, "lock_ttl", owner)
        self.lock_blocking_timeout = _validate_optional_seconds(lock_blocking_timeout, "lock_blocking_timeout", owner)
        self.clock: Clock = clock if clock is not None else monotonic_ms
        self._context_tokens: list[contextvars.Token[ThrottleBackend | None]] = []

    # -- the hit path -----------------------------------------------------

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """Apply one hit of ``cost`` to ``key`` atomically and return the decision.

        The generic implementation serialises hits on a key with :meth:`lock`;
        backends with a native atomic path override it.
        """
        if rate.unlimited:
            return UNLIMITED_DECISION
        async with self.lock(key):
            now = self.clock()
            state = await self._load_readable(key)
            if state is not None and state[0] <= now:
                state = None
            new_state, decision = step_or_reset(strategy, state, now, cost, rate, key)
            if new_state is not state and new_state is not None:
                await self.store_state(key, new_state, max(1, math.ceil(new_state[0] - now)))
            return with_reset(decision, new_state, now)

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """The decision a hit of ``cost`` would get now, consuming nothing."""
        if rate.unlimited:
            return UNLIMITED_DECISION
        now = self.clock()
        state = await self._load_readable(key)
        if state is not None and state[0] <= now:
            state = None
        return with_reset(peek_or_reset(strategy, state, now, cost, rate, key), state, now)

    async def _load_readable(self, key: str) -> State | None:
        # A value load_state cannot decode (ValueError from decode_state) is no state: the hit overwrites it.
        try:
            return await self.load_state(key)
        except ConfigurationError:
            raise
        except ValueError as exc:
            _logger.warning("%s: discarding an unreadable state under %r: %s", type(self).__name__, key, exc)
            return None

    # -- storage primitives of the generic path ---------------------------

    async def load_state(self, key: str) -> State | None:
        """Read the state stored under ``key`` (``None`` if absent)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement load_state()")

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        """Store ``state`` under ``key`` for ``ttl_ms`` milliseconds (always >= 1)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement store_state()")

    @abc.abstractmethod
    async def clear(self) -> None:
        """Delete every key of this backend's namespace, and nothing else."""

    def lock(self, name: str) -> AsyncLock:
        """An async lock named ``name``, honouring the lock settings.

        The default is a process-local lock: enough for a backend whose data
        lives in this process; shared backends override it with a distributed one.
        """
        from traffik.locks import LocalLockTable

        table = self.__dict__.get("_local_locks")
        if table is None:
            table = LocalLockTable(
                kind="unfair",
                blocking=self.lock_blocking,
                ttl=self.lock_ttl,
                blocking_timeout=self.lock_blocking_timeout,
            )
            self.__dict__["_local_locks"] = table
        return table.get(name)

    # -- lifecycle --------------------------------------------------------

    async def initialize(self) -> None:  # noqa: B027  # optional hook, empty by default
        """Open connections or start background work. Called by the lifespan."""

    async def close(self) -> None:  # noqa: B027  # optional hook, empty by default
        """Release connections and background work. Called by the lifespan."""

    async def reset(self) -> None:
        """Clear this namespace's data (same as :meth:`clear`)."""
        await self.clear()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        """An ASGI lifespan: ``FastAPI(lifespan=backend.lifespan)``.

        Start-up initialises the backend and installs it as the active backend
        for throttles that name none; shutdown clears this namespace unless
        ``persistent=True``, then closes the backend.
        """
        await self.initialize()
        _installed_backends.append(self)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):
                _installed_backends.remove(self)
            try:
                if not self.persistent:
                    await self.clear()
            finally:
                await self.close()

    def __call__(self, app: Any = None) -> contextlib.AbstractAsyncContextManager[None]:
        """``async with backend(app):`` is the same as the lifespan."""
        return self.lifespan(app)

    async def __aenter__(self) -> ThrottleBackend:
        """Initialise and make this the active backend for the current context."""
        await self.initialize()
        self._context_tokens.append(_active_backend.set(self))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        _active_backend.reset(self._context_tokens.pop())
        try:
            if not self.persistent:
                await self.clear()
        finally:
            await self.close()

    # -- construction from a URL ------------------------------------------

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ThrottleBackend:
        """Build a backend from a URL of one of :attr:`URL_SCHEMES`."""
        raise ConfigurationError(f"{cls.__name__} cannot be built from a URL (got {url!r})")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r}, persistent={self.persistent!r})"
