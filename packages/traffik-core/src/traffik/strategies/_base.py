"""The contract every strategy follows: a pure step over a flat numeric state.

A strategy never reads a clock and never touches storage. Its :meth:`step`
maps ``(state, now_ms, cost, rate)`` to ``(new_state, decision)``. Backends
store the state and run the step atomically (in-process, in a Lua script, in a
CAS loop); the pure step is also the oracle native implementations are tested
against.

State convention (shared by every strategy so every backend can store any of
them): a flat ``tuple`` of numbers whose first item is the time, in the same
milliseconds as ``now``, after which the state is equivalent to no state at
all. Backends use it as the key's expiry, and may drop the state once it has
passed.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

from traffik.rates import Rate

if TYPE_CHECKING:
    from traffik.backends.base import ThrottleBackend

__all__ = ["UNLIMITED_DECISION", "Decision", "State", "ThrottleStrategy", "with_reset"]

State = tuple[float, ...]
"""A strategy's stored state; ``state[0]`` is its expiry time in milliseconds."""


class Decision:
    """The outcome of one step: admitted or not, and what the client should know.

    Attributes:
        allowed: Whether the hit was admitted (and its cost consumed).
        wait_ms: ``0`` when allowed; otherwise the exact time until a hit of the
            same cost can pass. Never negative.
        hits_remaining: Cost units that could still be spent right now, after
            this hit if it was admitted.
        metadata: Strategy-specific details (window bounds, tokens, ...).
        reset_ms: Time until the client's quota is whole again (the stored
            state's expiry, ``state[0] - now``), or ``0`` when nothing is
            stored. Steps leave it ``0``; the backend that stores the state
            fills it in, so headers such as ``Retry-After`` on an admitted
            response need no second round trip. Not part of equality.
    """

    __slots__ = ("allowed", "hits_remaining", "metadata", "reset_ms", "wait_ms")

    def __init__(
        self,
        allowed: bool,
        wait_ms: float,
        hits_remaining: float,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.allowed = allowed
        self.wait_ms = wait_ms
        self.hits_remaining = hits_remaining
        self.metadata = metadata
        self.reset_ms = 0.0

    def __repr__(self) -> str:
        return (
            f"Decision(allowed={self.allowed}, wait_ms={self.wait_ms!r}, "
            f"hits_remaining={self.hits_remaining!r}, metadata={self.metadata!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return (self.allowed, self.wait_ms, self.hits_remaining, self.metadata) == (
            other.allowed,
            other.wait_ms,
            other.hits_remaining,
            other.metadata,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value object: not hashable


UNLIMITED_DECISION: Final = Decision(True, 0.0, math.inf, None)
"""The decision for an unlimited rate: always admitted, nothing consumed (shared: never mutate it)."""


def with_reset(decision: Decision, state: State | None, now: float) -> Decision:
    """Set ``decision.reset_ms`` from the state a backend keeps after the hit, and return it."""
    if state is not None:
        reset = state[0] - now
        if reset > 0:
            decision.reset_ms = reset
    return decision


class ThrottleStrategy(abc.ABC):
    """Base class of every strategy.

    Subclasses set :attr:`NAME`, validate their parameters in ``__init__``
    (raising :class:`~traffik.exceptions.ConfigurationError` that names the
    parameter and value) and implement :meth:`step`.
    """

    NAME: ClassVar[str]
    """Registry name, e.g. ``"fixed-window"``; also used by native implementations."""

    __slots__ = ()

    @abc.abstractmethod
    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit of ``cost`` at time ``now`` (ms) to ``state``.

        ``state`` is ``None`` for a fresh key; callers may pass an expired
        state, which the step must treat as fresh. When the hit is denied the
        step returns the *same* state object, so a backend can skip the write.
        ``rate`` is never unlimited (backends answer those without a step).
        """

    def peek(self, state: State | None, now: float, cost: int, rate: Rate) -> Decision:
        """The decision a hit of ``cost`` would get, without consuming anything."""
        return self.step(state, now, cost, rate)[1]

    def params(self) -> dict[str, Any]:
        """The strategy's parameters, for equality, repr and native implementations."""
        return {}

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """Strategy-specific details of ``state`` at ``now``, for ``stat()`` and debugging.

        Steps keep ``Decision.metadata`` cheap (often ``None``) because they run
        on every hit; ``describe`` is the off-hot-path way to get the details
        (window bounds, tokens, theoretical arrival time, ...). ``state`` may
        be ``None`` or expired, which describes a fresh key. Values are plain
        numbers (``None`` where not applicable), times in the same milliseconds
        as ``now``. Never consumes.
        The default describes nothing.

        Example:
            >>> from traffik.strategies import FixedWindow
            >>> FixedWindow().describe(None, 1_500.0, Rate.parse("5/s"))["window_end"]
            2000.0
        """
        return {}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ThrottleStrategy)
        return self.params() == other.params()

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.params().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.params().items())
        return f"{type(self).__name__}({args})"

    async def __call__(self, key: str, rate: Rate, backend: ThrottleBackend, cost: int = 1) -> float:
        """Hit ``key`` on ``backend`` directly; returns the wait in ms (``0`` when admitted).

        Example:
            >>> import asyncio
            >>> from traffik.backends.inmemory import InMemoryBackend
            >>> from traffik.strategies import FixedWindow
            >>> backend = InMemoryBackend()
            >>> asyncio.run(FixedWindow()("client-1", Rate.parse("1/min"), backend))
            0.0
        """
        decision = await backend.hit(key, self, rate, cost)
        return decision.wait_ms
