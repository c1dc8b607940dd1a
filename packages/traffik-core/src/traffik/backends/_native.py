"""Which strategies a backend runs natively: one decision, the same for every backend.

A native implementation (a Lua script, a CAS runner, an in-process structure)
mirrors the step of one strategy class, which it declares as its
``strategy_class`` attribute. A subclass of that class may override ``step``
and keep ``NAME``; run through its parent's implementation it would be
enforced by the parent's algorithm. So a strategy runs natively only when an
implementation declares exactly its class: :func:`runs_natively` is that
rule, and :class:`NativeStrategies` applies it once per strategy class for a
backend. Both are re-exported by :mod:`traffik.backends.base` (the plugin API).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar, Union, cast

from traffik.exceptions import PluginError
from traffik.strategies import ThrottleStrategy

__all__ = ["NativeStrategies", "runs_natively"]

ImplementationT = TypeVar("ImplementationT")


def runs_natively(implementation: object, strategy: ThrottleStrategy | type[ThrottleStrategy]) -> bool:
    """Whether ``implementation`` runs ``strategy``: it declares exactly its class as ``strategy_class``.

    ``strategy`` is a strategy or its class. An implementation that declares no
    class (or ``None``) runs nothing natively.

    Example:
        >>> from traffik.strategies import FixedWindow
        >>> class Script:
        ...     strategy_class = FixedWindow
        >>> class Tweaked(FixedWindow):
        ...     pass
        >>> runs_natively(Script(), FixedWindow()), runs_natively(Script(), Tweaked())
        (True, False)
    """
    kind = strategy if isinstance(strategy, type) else type(strategy)
    declared = getattr(implementation, "strategy_class", None)
    return declared is not None and declared is kind


class NativeStrategies(dict[type[ThrottleStrategy], Union[ImplementationT, None]]):
    """A backend's native implementations by exact strategy class, found on first use by :func:`runs_natively`.

    A mapping from strategy class to the implementation that runs it natively,
    or ``None`` (the backend's generic path). ``native[type(strategy)]`` is one
    dictionary lookup once the class has been seen, cheap enough for a hit path.

    Args:
        backend: The backend's ``NAME``, under which plugins register implementations
            (``traffik_register_strategy_implementations``).
        builtin: Implementations the backend holds itself rather than registers.
        registered: Also look implementations up in the plugin registry (the first
            use of a strategy class triggers plugin discovery).
        kind: The type every registered implementation must have.

    Raises:
        PluginError: (on lookup) The registered implementation cannot be loaded or
            is not of ``kind``; nothing is remembered, the next lookup asks again.

    Example:
        >>> from traffik.strategies import FixedWindow, SlidingWindowLog
        >>> class NativeLog:
        ...     strategy_class = SlidingWindowLog
        >>> native = NativeStrategies("demo", builtin=[NativeLog], registered=False)
        >>> native[SlidingWindowLog] is NativeLog, native.find(FixedWindow())
        (True, None)
    """

    def __init__(
        self,
        backend: str,
        *,
        builtin: Iterable[ImplementationT] = (),
        registered: bool = True,
        kind: type[ImplementationT] | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self._builtin = tuple(builtin)
        self._registered = registered
        self._kind = kind

    def find(self, strategy: ThrottleStrategy) -> ImplementationT | None:
        """The implementation that runs ``strategy`` natively, or ``None``."""
        return self[type(strategy)]

    def __missing__(self, strategy_class: type[ThrottleStrategy]) -> ImplementationT | None:
        found = self._lookup(strategy_class)
        self[strategy_class] = found
        return found

    def _lookup(self, strategy_class: type[ThrottleStrategy]) -> ImplementationT | None:
        for implementation in self._builtin:
            if runs_natively(implementation, strategy_class):
                return implementation
        if not self._registered:
            return None
        from traffik.plugins import get_plugin_registry  # not at import: importing a backend discovers nothing

        found = get_plugin_registry().strategy_implementation(self.backend, strategy_class.NAME)
        if found is None:
            return None
        if self._kind is not None and not isinstance(found, self._kind):
            raise PluginError(
                f"the implementation of strategy {strategy_class.NAME!r} for backend {self.backend!r} must be a "
                f"{self._kind.__module__}.{self._kind.__qualname__}, got {found!r}"
            )
        if not runs_natively(found, strategy_class):
            return None
        return cast("ImplementationT", found)  # of `kind` when given; else the backend knows what it registered

    def __repr__(self) -> str:
        return f"NativeStrategies({self.backend!r}, {dict(self)!r})"
