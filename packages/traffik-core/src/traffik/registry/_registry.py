"""The throttle registry: live throttles by uid (weakly), their rules, group switches."""

from __future__ import annotations

import gc
import weakref
from typing import TYPE_CHECKING, Final, Protocol

from traffik.exceptions import ConfigurationError
from traffik.registry._rules import ThrottleRule
from traffik.validation import instance_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["GLOBAL_REGISTRY", "RegisteredThrottle", "ThrottleRegistry"]

_RULE: Final = instance_of(ThrottleRule, description="ThrottleRule or BypassThrottleRule")


class RegisteredThrottle(Protocol):
    """What the registry needs from a throttle."""

    @property
    def uid(self) -> str: ...

    async def disable(self) -> None: ...

    async def enable(self) -> None: ...


class ThrottleRegistry:
    """Knows every live throttle by uid, the rules attached to it, and can switch groups off.

    Throttles register themselves on construction and are held by weak
    reference: a throttle nobody uses any more disappears from the registry
    (:meth:`get_throttle` then returns ``None``) and its uid can be reused.

    Example:
        >>> registry = ThrottleRegistry()
        >>> registry.exist("api")
        False
    """

    def __init__(self) -> None:
        self._refs: dict[str, weakref.ref[RegisteredThrottle]] = {}
        self._rules: dict[str, tuple[ThrottleRule, ...]] = {}

    def register(self, throttle: RegisteredThrottle) -> None:
        """Register ``throttle`` under its uid.

        Raises:
            ConfigurationError: Another live throttle already uses this uid.
        """
        uid = throttle.uid
        existing = self._live(uid)
        if existing is not None and existing is not throttle:
            # The previous owner may only be kept alive by a reference cycle
            # (an app and its routes): collect once before calling it a clash,
            # without holding it ourselves meanwhile.
            existing = None
            gc.collect()
            existing = self._live(uid)
            if existing is not None and existing is not throttle:
                raise ConfigurationError(
                    f"{type(throttle).__name__}: uid {uid!r} is already registered by {existing!r}; "
                    "each throttle in a registry needs its own uid (reuse the same throttle object to share a quota)"
                )
        self._refs[uid] = weakref.ref(throttle, self._forget(uid))

    def _forget(self, uid: str) -> Callable[[weakref.ReferenceType[RegisteredThrottle]], None]:
        del_ref = weakref.ref(self)

        def callback(ref: weakref.ReferenceType[RegisteredThrottle]) -> None:
            registry = del_ref()
            if registry is not None and registry._refs.get(uid) is ref:
                del registry._refs[uid]

        return callback

    def unregister(self, uid: str) -> bool:
        """Forget the throttle and rules of ``uid``; returns whether it was registered."""
        self._rules.pop(uid, None)
        return self._refs.pop(uid, None) is not None

    def _live(self, uid: str) -> RegisteredThrottle | None:
        ref = self._refs.get(uid)
        return None if ref is None else ref()

    def exist(self, uid: str) -> bool:
        """Whether a live throttle is registered under ``uid``."""
        return self._live(uid) is not None

    def add_rules(self, uid: str, *rules: ThrottleRule) -> None:
        """Attach gating rules to the throttle ``uid`` (they add to its constructor rules).

        Throttles read registry rules at their first hit (or on every hit
        with ``dynamic_rules=True``).

        Raises:
            ConfigurationError: ``uid`` is not registered, or a rule is not a :class:`ThrottleRule`.
        """
        if not self.exist(uid):
            raise ConfigurationError(f"ThrottleRegistry.add_rules: uid {uid!r} is not registered")
        for rule in rules:
            _RULE("ThrottleRegistry.add_rules", "rules", rule)
        # A new tuple in one assignment: a concurrent reader sees the old or the new rules, never a mix.
        self._rules[uid] = self._rules.get(uid, ()) + tuple(rules)

    def get_rules(self, uid: str) -> tuple[ThrottleRule, ...]:
        """The rules attached to ``uid`` through this registry (empty if none)."""
        return self._rules.get(uid, ())

    def get_throttle(self, uid: str) -> RegisteredThrottle | None:
        """The live throttle registered as ``uid``, or ``None`` (unknown or garbage-collected)."""
        return self._live(uid)

    async def disable(self, uid: str) -> bool:
        """Disable the throttle ``uid``; returns ``True`` if it was found."""
        throttle = self._live(uid)
        if throttle is None:
            return False
        await throttle.disable()
        return True

    async def enable(self, uid: str) -> bool:
        """Re-enable the throttle ``uid``; returns ``True`` if it was found."""
        throttle = self._live(uid)
        if throttle is None:
            return False
        await throttle.enable()
        return True

    def _all_live(self) -> Iterator[RegisteredThrottle]:
        for ref in list(self._refs.values()):
            throttle = ref()
            if throttle is not None:
                yield throttle

    async def disable_all(self) -> None:
        """Disable every live throttle of this registry."""
        for throttle in self._all_live():
            await throttle.disable()

    async def enable_all(self) -> None:
        """Re-enable every live throttle of this registry."""
        for throttle in self._all_live():
            await throttle.enable()

    def clear(self) -> None:
        """Unregister everything and drop every rule."""
        self._refs.clear()
        self._rules.clear()

    def __repr__(self) -> str:
        return f"ThrottleRegistry(uids={sorted(self._refs)!r})"


GLOBAL_REGISTRY = ThrottleRegistry()
"""The registry throttles join when they are given none."""
