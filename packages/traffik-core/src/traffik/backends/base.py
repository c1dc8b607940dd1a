"""The contract every backend follows: the plugin API for backends.

A backend stores strategy states and applies a strategy's step to them
atomically. It declares what it does itself in :attr:`ThrottleBackend.CAPABILITIES`
(checked when it is constructed): run some strategies natively (overriding
:meth:`ThrottleBackend.hit` and :meth:`ThrottleBackend.peek`, and deciding which
with :class:`NativeStrategies`), store states (:meth:`ThrottleBackend.load_state`
and :meth:`ThrottleBackend.store_state`, which give every strategy a correct
lock + load + step + store path for free), share its locks between processes,
or route calls to other backends.

This module is the public home of everything a backend plugin needs from
core's backend machinery; its names follow the semantic versioning of
traffik-core. The generic path (:mod:`traffik.backends._generic`), the state
codec (:mod:`traffik.backends._codec`), the active-backend context
(:mod:`traffik.backends._context`) and the native-strategy decision
(:mod:`traffik.backends._native`) live in their own modules and are
re-exported here: import them from here.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, Union, runtime_checkable

from traffik.backends import _context
from traffik.backends._codec import decode_state, encode_state
from traffik.backends._context import get_active_backend, install_backend, uninstall_backend
from traffik.backends._generic import generic_hit, generic_peek, peek_or_reset, step_or_reset, strategy_state_key
from traffik.backends._native import NativeStrategies, runs_natively
from traffik.backends.deny_cache import DenyCache
from traffik.clock import Clock, monotonic_ms
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import Decision, State, ThrottleStrategy
from traffik.validation import (
    any_of,
    boolean,
    callable_,
    instance_of,
    non_empty_string,
    non_negative_number,
    one_of,
    optional,
)

if TYPE_CHECKING:
    from traffik.locks import AsyncLock

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "BackendCapabilities",
    "BackendRouter",
    "ErrorPolicy",
    "NativeStrategies",
    "ThrottleBackend",
    "check_capabilities",
    "decode_state",
    "encode_state",
    "get_active_backend",
    "peek_or_reset",
    "runs_natively",
    "step_or_reset",
    "strategy_state_key",
    "validate_on_error",
]

_active_backend = _context.active_backend  # core's middleware sets it; kept under its former name
_logger = logging.getLogger(__name__)

ErrorPolicy = Union[Literal["allow", "throttle", "raise"], Callable[..., Awaitable[Any]]]
"""What to do when a backend call fails: fail open, fail closed, re-raise, or ask a callable."""

DEFAULT_CALL_TIMEOUT: Final = 1.5
"""Seconds a backend call may take before it counts as failed (:attr:`ThrottleBackend.call_timeout`)."""

_ON_ERROR = any_of(
    one_of("allow", "throttle", "raise"),
    callable_(),
    description="'allow', 'throttle', 'raise' or a callable",
)
_OPTIONAL_SECONDS = optional(non_negative_number(unit="seconds"))
_OPTIONAL_CALLABLE = optional(callable_())
_OPTIONAL_BOOLEAN = optional(boolean).described("True, False or None")
_CLOCK = callable_("a callable returning milliseconds")
_DENY_CACHE = any_of(boolean, instance_of(DenyCache), description="True, False, None or a DenyCache")


def validate_on_error(value: object, owner: str) -> ErrorPolicy:
    """Return ``value`` if it is a valid ``on_error`` policy, else raise naming ``owner``."""
    policy: ErrorPolicy = _ON_ERROR(owner, "on_error", value)
    return policy


@runtime_checkable
class BackendRouter(Protocol):
    """An ``on_error`` policy that routes a throttle's calls itself (:func:`traffik.error_handlers.failover`).

    A throttle binding a backend asks such a policy once for the backend to call instead.
    """

    def route_backend(self, primary: ThrottleBackend) -> ThrottleBackend:
        """The backend a throttle should call instead of ``primary`` (called once per binding)."""
        ...


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend does itself, declared as :attr:`ThrottleBackend.CAPABILITIES`.

    Each declared capability is checked against the methods the class
    implements when the first instance is constructed (:func:`check_capabilities`).

    Attributes:
        native_strategies: Runs some strategies natively (a script, a CAS loop, an
            in-process structure): overrides ``hit`` and ``peek``, and picks the
            strategies with :class:`NativeStrategies`.
        state_store: Implements ``load_state`` and ``store_state``: the generic lock +
            load + step + store path runs every strategy.
        shared_locks: ``lock`` is shared by every process using the store (a
            distributed lock): overrides ``lock``.
        routing: Forwards calls to other backends and stores nothing itself
            (failover): overrides ``hit`` and ``peek``.
    """

    native_strategies: bool = False
    state_store: bool = False
    shared_locks: bool = False
    routing: bool = False


_REQUIRED_METHODS: Final = {
    "native_strategies": ("hit", "peek"),
    "state_store": ("load_state", "store_state"),
    "shared_locks": ("lock",),
    "routing": ("hit", "peek"),
}
_checked: set[type[ThrottleBackend]] = set()


def check_capabilities(cls: type[ThrottleBackend]) -> None:
    """Check that ``cls`` implements what its :attr:`~ThrottleBackend.CAPABILITIES` declare.

    Called by :class:`ThrottleBackend` on construction (once per class).

    Raises:
        TypeError: A declared capability lacks its methods (a backend's bug, not a
            configuration error), naming the class, the capability and the methods.
    """
    if cls in _checked:
        return
    capabilities = cls.CAPABILITIES
    if not isinstance(capabilities, BackendCapabilities):
        raise TypeError(f"{cls.__name__}: CAPABILITIES must be a BackendCapabilities, got {capabilities!r}")
    for capability, methods in _REQUIRED_METHODS.items():
        if not getattr(capabilities, capability):
            continue
        missing = [name for name in methods if getattr(cls, name) is getattr(ThrottleBackend, name)]
        if missing:
            raise TypeError(f"{cls.__name__} declares {capability}=True but does not implement {', '.join(missing)}()")
    _checked.add(cls)


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
        deny_cache: Deny hits locally while the store's last denial of their key holds
            (:mod:`traffik.backends.deny_cache`): ``True`` for a default
            :class:`~traffik.backends.deny_cache.DenyCache`, a ``DenyCache`` of your own,
            or ``None``/``False`` (the default) to ask the store every time. Meant for
            shared stores; a backend plugin forwards it from its own constructor.
    """

    NAME: ClassVar[str]
    """Registry name, e.g. ``"inmemory"``."""
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ()
    """URL schemes :func:`traffik.backends.backend_from_url` maps to this backend."""
    CAPABILITIES: ClassVar[BackendCapabilities] = BackendCapabilities()
    """What this backend does itself; each declared capability is checked at construction."""

    default_strategy: ThrottleStrategy | None = None
    """The strategy of throttles that name none (``None``: :data:`traffik.strategies.DEFAULT_STRATEGY_CLASS`)."""
    call_timeout: float | None = DEFAULT_CALL_TIMEOUT
    """Seconds a throttle lets one call of this backend take before it counts as failed; ``None``
    when the backend bounds its calls itself."""
    shared_store: ClassVar[bool] = False
    """``True`` when other processes may use the same data (a network store). Clearing the
    namespace at shutdown (``persistent=False``) then resets the limits of every process that
    shares it, so a non-persistent shared backend logs a warning at start-up naming the
    namespace, and another when it clears it."""

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
        deny_cache: DenyCache | bool | None = None,
    ) -> None:
        owner = type(self).__name__
        check_capabilities(type(self))
        self.namespace: str = non_empty_string(owner, "namespace", namespace)
        self.persistent: bool = boolean(owner, "persistent", persistent)
        self.identifier = _OPTIONAL_CALLABLE(owner, "identifier", identifier)
        self.handle_throttled = _OPTIONAL_CALLABLE(owner, "handle_throttled", handle_throttled)
        self.lock_blocking: bool | None = _OPTIONAL_BOOLEAN(owner, "lock_blocking", lock_blocking)
        if clock is not None:
            _CLOCK(owner, "clock", clock)
        self.on_error: ErrorPolicy = validate_on_error(on_error, owner)
        self.lock_ttl = _OPTIONAL_SECONDS(owner, "lock_ttl", lock_ttl)
        self.lock_blocking_timeout = _OPTIONAL_SECONDS(owner, "lock_blocking_timeout", lock_blocking_timeout)
        self.clock: Clock = clock if clock is not None else monotonic_ms
        self._context_tokens: list[contextvars.Token[ThrottleBackend | None]] = []
        cache = False if deny_cache is None else _DENY_CACHE(owner, "deny_cache", deny_cache)
        self.deny_cache: DenyCache | None = DenyCache() if cache is True else None if cache is False else cache
        if self.deny_cache is not None:
            self.deny_cache.attach(self)

    # -- the hit path -----------------------------------------------------

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """Apply one hit of ``cost`` to ``key`` atomically and return the decision.

        The generic implementation serialises hits on a key with :meth:`lock`
        around :meth:`load_state`, the strategy's step and :meth:`store_state`;
        backends with a native atomic path override it.
        """
        return await generic_hit(self, key, strategy, rate, cost)

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """The decision a hit of ``cost`` would get now, consuming nothing."""
        return await generic_peek(self, key, strategy, rate, cost)

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
        ``persistent=True``, then closes the backend. Shutdown is best-effort:
        a store that is down by then is logged as one warning, not raised.
        """
        await self.initialize()
        self._warn_if_cleared_at_shutdown()
        install_backend(self)
        try:
            yield
        finally:
            uninstall_backend(self)
            await self._shut_down()

    def __call__(self, app: Any = None) -> contextlib.AbstractAsyncContextManager[None]:
        """``async with backend(app):`` is the same as the lifespan."""
        return self.lifespan(app)

    async def __aenter__(self) -> ThrottleBackend:
        """Initialise and make this the active backend for the current context."""
        await self.initialize()
        self._warn_if_cleared_at_shutdown()
        self._context_tokens.append(_active_backend.set(self))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        _active_backend.reset(self._context_tokens.pop())
        await self._shut_down()

    def _warn_if_cleared_at_shutdown(self) -> None:
        if self.shared_store and not self.persistent:
            _logger.warning(
                "%s(namespace=%r) has persistent=False: it will clear namespace %r when this app "
                "shuts down, resetting the limits of every process that shares it; pass "
                "persistent=True when several workers or deploys share the store",
                type(self).__name__,
                self.namespace,
                self.namespace,
            )

    async def _shut_down(self) -> None:
        """Clear the namespace (unless ``persistent``), then close; best-effort.

        A store that is down when the app stops must not turn its shutdown
        into a crash: the failure is logged as one warning (the keys expire
        by their TTL) and the shutdown goes on. Cancellation still propagates.
        """
        failures: list[str] = []
        if not self.persistent:
            try:
                await self.clear()
            except Exception as exc:
                failures.append(f"clear: {type(exc).__name__}: {exc}")
            else:
                _logger.log(
                    logging.WARNING if self.shared_store else logging.INFO,
                    "%s: cleared namespace %r at shutdown (persistent=False)",
                    type(self).__name__,
                    self.namespace,
                )
        try:
            await self.close()
        except Exception as exc:
            failures.append(f"close: {type(exc).__name__}: {exc}")
        if failures:
            _logger.warning(
                "%s(namespace=%r): shutdown could not reach the store, continuing without it (%s)",
                type(self).__name__,
                self.namespace,
                "; ".join(failures),
            )

    # -- construction from a URL ------------------------------------------

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ThrottleBackend:
        """Build a backend from a URL of one of :attr:`URL_SCHEMES`."""
        raise ConfigurationError(f"{cls.__name__} cannot be built from a URL (got {url!r})")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r}, persistent={self.persistent!r})"
