"""What a decision leaves: the error policy, the headers, the throttled handler, reports to observers.

The second half of the hit pipeline (:mod:`traffik.throttles._pipeline`):
``_send`` makes the backend call, ``_on_backend_error`` / ``_failed`` apply
the ``on_error`` policy, ``_deny`` records headers and runs the throttled
handler, unless the throttle is in shadow mode, where the hit passes. The
pipeline calls ``_report`` only when an observer listens.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from typing import Any, Final, Generic, TypeVar

from starlette.requests import HTTPConnection

from traffik._error_policy import ExceptionInfo, resolve_error
from traffik.config import get_near_limit_ratio, get_shadow
from traffik.events._dispatch import DISPATCH
from traffik.events._events import DecisionEvent, Outcome
from traffik.exceptions import BACKEND_ERROR_KEY
from traffik.headers import Headers
from traffik.rates import Rate
from traffik.strategies import Decision
from traffik.throttles._config import Bound, Config
from traffik.throttles._report import report_backend_error, report_error
from traffik.throttles._scope import HitRecord, record_hit
from traffik.types import StrategyStat

__all__ = ["ConnectionT", "PreparedHit", "VerdictSteps"]

_ALLOWED: Final = Outcome.ALLOWED
_THROTTLED: Final = Outcome.THROTTLED
_SHADOW_THROTTLED: Final = Outcome.SHADOW_THROTTLED
_new_event: Final = tuple.__new__

ConnectionT = TypeVar("ConnectionT", bound=HTTPConnection)

PreparedHit = tuple[ConnectionT, Config, Bound, Mapping[str, Any], int, Rate, str]
"""One hit of one throttle, ready for the backend: what ``hit``, ``check`` and ``stat`` share.

``(connection, config, bound, context, cost, rate, key)``: ``config`` is the one
snapshot this hit reads, whatever ``update_*`` does meanwhile. A plain tuple,
unpacked where it is used: built on every hit, it costs a fraction of an object.
"""


class VerdictSteps(Generic[ConnectionT]):
    """The steps after the backend call; :class:`~traffik.throttles.BaseThrottle` sets the state they read."""

    _uid: str
    _shadow: bool | None  # None: the app-wide setting (traffik.config.get_shadow)
    _shadow_headers: bool
    _near_limit_ratio: float | None  # None: the app-wide ratio (traffik.config.get_near_limit_ratio)

    def _send(self, hit: PreparedHit[ConnectionT], consume: bool) -> Awaitable[Decision]:
        """The backend call: ``hit`` if ``consume``, else ``peek`` (each bound to its timeout once, in :func:`bind`)."""
        _, _, bound, _, cost, rate, key = hit
        call = bound.consume if consume else bound.peek
        return call(key, bound.strategy, rate, cost)

    async def _on_backend_error(self, hit: PreparedHit[ConnectionT], exc: Exception, consume: bool) -> float | None:
        """The ``on_error`` policy's verdict: ``None`` admits, a wait (ms) rejects; observers are told which."""
        connection, _, bound, context, cost, rate, key = hit
        info: ExceptionInfo = {
            "exception": exc,
            "throttle": self,
            "backend": bound.backend,
            "cost": cost,
            "context": context,
            "key": key,
            "strategy": bound.strategy,
            "rate": rate,
            "consume": consume,
        }
        if not DISPATCH.observers:
            return await resolve_error(bound.on_error, connection, info)
        try:
            verdict = await resolve_error(bound.on_error, connection, info)
        except BaseException:
            report_backend_error(self._uid, bound.backend, exc, "raise")
            raise
        report_backend_error(self._uid, bound.backend, exc, "allow" if verdict is None else "throttle")
        return verdict

    def _in_shadow(self) -> bool:
        """Whether this throttle runs in shadow mode now (its own setting, else the app-wide one)."""
        shadow = self._shadow
        return get_shadow() if shadow is None else shadow

    def _report(self, hit: PreparedHit[ConnectionT], decision: Decision, latency: float) -> None:
        """Hand observers the decision (called only when one listens; inline: it runs on every observed hit)."""
        _, config, bound, _, cost, rate, _ = hit
        shadow = self._shadow
        if shadow is None:
            shadow = get_shadow()
        remaining = decision.hits_remaining
        limit = rate.limit
        # tuple.__new__ skips the named tuple's Python-level __new__.
        if decision.allowed:
            ratio = self._near_limit_ratio
            if ratio is None:
                ratio = get_near_limit_ratio()
            near = limit - remaining >= ratio * limit  # is_near_limit, inline
            fields = (self._uid, bound.strategy.NAME, bound.backend_name, _ALLOWED, cost, remaining, limit, 0.0)
            event = _new_event(DecisionEvent, (*fields, latency, near, shadow))
        else:
            wait_ms = decision.wait_ms if decision.wait_ms > config.min_wait_period else config.min_wait_period
            outcome = _SHADOW_THROTTLED if shadow else _THROTTLED
            denied = (self._uid, bound.strategy.NAME, bound.backend_name, outcome, cost, remaining, limit)
            event = _new_event(DecisionEvent, (*denied, wait_ms / 1000.0, latency, True, shadow))
        for observer in DISPATCH.observers:
            try:
                observer.on_decision(event)
            except Exception:
                DISPATCH.failed(observer, "on_decision")

    async def _failed(self, hit: PreparedHit[ConnectionT], exc: Exception, latency: float | None) -> bool:
        """A failed consuming call: the ``on_error`` policy, then the throttled handler if it rejects.

        ``latency`` is ``None`` when no observer listens. A shadow throttle
        never rejects; a ``"raise"`` policy still raises.
        """
        _, config, bound, _, cost, rate, _ = hit
        try:
            error_wait = await self._on_backend_error(hit, exc, True)
        except BaseException:
            if latency is not None:
                report_error(self._uid, bound, rate, cost, 0.0, latency, self._in_shadow())
            raise
        if error_wait is not None:
            error_wait = max(error_wait, config.min_wait_period)
        shadow = self._in_shadow() if error_wait is not None or latency is not None else False
        if latency is not None:
            report_error(self._uid, bound, rate, cost, error_wait or 0.0, latency, shadow)
        if error_wait is None or shadow:
            return True
        # The handler learns why it was called: an outage, not a client over its limit.
        connection, _, _, context, _, _, key = hit
        failed = (connection, config, bound, {**context, BACKEND_ERROR_KEY: exc}, cost, rate, key)
        await self._throttled(failed, error_wait)
        return False

    async def _deny(self, hit: PreparedHit[ConnectionT], decision: Decision) -> bool:
        """Record the headers of a denied hit, then run the throttled handler; ``False``: denied.

        In shadow mode the hit passes (``True``) and records its headers only
        with ``shadow_headers=True``.
        """
        _, config, _, _, _, _, _ = hit
        headers = config.headers
        wait_ms = decision.wait_ms
        if wait_ms < config.min_wait_period:
            wait_ms = config.min_wait_period
        if self._in_shadow():
            if headers is not None and self._shadow_headers:
                self._record(hit, headers, decision, wait_ms)
            return True
        if headers is not None:
            self._record(hit, headers, decision, wait_ms)
        await self._throttled(hit, wait_ms)
        return False

    def _record(
        self, hit: PreparedHit[ConnectionT], headers: Headers, decision: Decision, wait_ms: float
    ) -> dict[str, str]:
        connection, _, _, context, cost, rate, key = hit
        stat = StrategyStat(key, rate, decision.hits_remaining, wait_ms, decision.metadata, decision.reset_ms)
        throttled = not decision.allowed or decision.hits_remaining < cost
        resolved = headers.resolve(connection, stat, context, throttled)
        record_hit(connection.scope, HitRecord(self, stat, decision.allowed, resolved))
        return resolved

    async def _throttled(self, hit: PreparedHit[ConnectionT], wait_ms: float) -> None:
        connection, _, bound, context, _, _, _ = hit
        handler = bound.handle_throttled
        if handler is None:
            await self.default_handle_throttled(connection, wait_ms, context)
            return
        result = handler(connection, wait_ms, self, context)
        if inspect.isawaitable(result):
            await result

    async def default_handle_throttled(
        self, connection: ConnectionT, wait_ms: float, context: Mapping[str, Any]
    ) -> None:
        """What happens to a throttled connection when no handler is set (subclasses define it)."""
        raise NotImplementedError
