"""The lane: the common hit of a throttle, with everything but the client precomputed.

A throttle whose rate and cost are constants, whose backend is fixed and
whose rules are known to be none keeps a :data:`Lane` per configuration,
built at its first hit through the step-by-step chain
(:mod:`traffik.throttles._pipeline`). From then on a hit with no per-hit cost
or context, while no observer listens, makes one synchronous call
(:meth:`LaneSteps._lane_key`: identity and key inline) and one backend call,
awaited unless the backend answers without a coroutine (the in-memory
backend's own ``hit``). Anything else (an async identifier's answer, an
exempted client, a denial, a failure, headers to record) goes on through the
chain's steps with the same results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from traffik.error_handlers._monitor import FAILING, note_recovery
from traffik.events._dispatch import DISPATCH
from traffik.exceptions import ConfigurationError
from traffik.identifiers import get_remote_address
from traffik.keys import escape_component
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy
from traffik.throttles._config import BackendCall, Bound, Config
from traffik.throttles._pipeline import _METHOD_COMPONENTS, HitPipeline
from traffik.throttles._report import report_exempted
from traffik.throttles._scope import IDS_KEY
from traffik.throttles._verdict import ConnectionT, PreparedHit
from traffik.types import EXEMPTED, Exempted, IdentifierFunc

__all__ = ["Lane", "LaneSteps", "SyncCall"]

Lane = tuple[Config, Bound, BackendCall, ThrottleStrategy, Rate, int, IdentifierFunc, bool, "SyncCall | None"]
"""``(config, bound, consume, strategy, rate, cost, identifier, cache_ids, step)``: what the common hits share.

``step`` is ``consume`` answered without a coroutine, when the backend's
call is one that never awaits (:func:`_synchronous`), else ``None``.

Built at the first hit of a configuration whose rate and cost are constants,
whose backend is fixed and whose rules are known to be none; ``update_*``
makes a new configuration, so a lane never outlives the settings it copies.
"""


SyncCall = Callable[[str, ThrottleStrategy, Rate, int], Decision]


def _synchronous(bound: Bound) -> SyncCall | None:
    """The in-memory backend's own ``hit``, answered without a coroutine; ``None`` for any other call.

    Only the exact method: a subclass that overrides ``hit``, a call wrapped
    on the instance (a deny cache, a test's fault) or by a policy (failover)
    keeps its awaited call.
    """
    from traffik.backends.inmemory import InMemoryBackend

    consume = bound.consume
    backend = bound.backend
    if getattr(consume, "__func__", None) is InMemoryBackend.hit and getattr(consume, "__self__", None) is backend:
        return backend._hit_now  # type: ignore[no-any-return]
    return None


class LaneSteps(HitPipeline[ConnectionT]):
    """The chain of :class:`~traffik.throttles._pipeline.HitPipeline` with the lane in front of it."""

    def _lane_for(self, config: Config, bound: Bound) -> Lane | None:
        """The lane of ``config`` bound to ``bound``; ``None`` when a hit has something to compute."""
        rate = config.rate
        cost = config.cost
        if (
            rate is None
            or rate.unlimited
            or not cost
            or config.backend is None
            or self._dynamic_backend
            or self._dynamic_rules
            or self._rules != ()
        ):
            return None
        identifier = bound.identifier
        # The default identifier reads one scope entry: computing it again costs less than caching it.
        cache_ids = self._cache_ids and identifier is not get_remote_address
        return (config, bound, bound.consume, bound.strategy, rate, cost, identifier, cache_ids, _synchronous(bound))

    # -- the consuming hit ---------------------------------------------------------------------

    async def _hit(
        self,
        connection: ConnectionT,
        cost: int | None,
        context: Mapping[str, Any] | None,
        key_path: str | None = None,
    ) -> bool:
        """Hit and handle a denial; ``True``: go on (admitted, skipped, failed open).

        ``False``: denied, and the throttled handler ran without raising (on an
        accepted WebSocket it sent the rate-limit frame): the caller must not
        process the message. ``key_path``: an escaped path component for the key
        (a middleware's pattern).

        The common hit takes the throttle's :data:`Lane` (see :meth:`_lane_key`):
        one synchronous call builds its key, one await asks the backend.
        """
        if self._disabled:
            return True
        if cost is None and context is None:
            key = self._lane_key(connection, key_path)
            if type(key) is str:
                # The common hit awaits the backend and nothing else (the same lines are in hit()).
                lane = self._lane
                step = lane[8]  # type: ignore[index]
                try:
                    if step is not None:
                        decision = step(key, lane[3], lane[4], lane[5])  # type: ignore[index]
                    else:
                        decision = await lane[2](key, lane[3], lane[4], lane[5])  # type: ignore[index]
                except Exception as exc:
                    return await self._lane_failed(connection, key, exc)
                if decision.allowed and not FAILING and lane[0].headers is None:  # type: ignore[index]
                    return True
                return await self._lane_verdict(connection, key, decision)
            if key is not None:
                return await self._lane_pending(connection, key, key_path)  # type: ignore[arg-type]  # not a str
        return await self._hit_prepared(connection, cost, context, key_path)

    def _lane_key(self, connection: ConnectionT, key_path: str | None) -> str | Exempted | Awaitable[Any] | None:
        """The key of a hit the lane takes, built without a coroutine: identity and key inline.

        ``None``: the lane cannot take this hit (none built for the current
        configuration yet, or an observer listens: the step-by-step chain
        times and reports it). ``EXEMPTED``: an exempted client. An
        awaitable: the identifier's answer still to be awaited and checked
        (:meth:`_lane_pending`).
        """
        lane = self._lane
        if lane is None or lane[0] is not self._config or DISPATCH.observers:
            return None
        identifier = lane[6]
        scope = connection.scope
        # -- identity: the _identify step, inline --
        identity: Any
        if lane[7]:  # cache_ids
            ids: dict[Any, str | Exempted] | None = scope.get(IDS_KEY)
            if ids is None:
                ids = scope[IDS_KEY] = {}
                identity = None
            else:
                identity = ids.get(identifier)
            if identity is None:
                identity = identifier(connection)
                if type(identity) is not str:
                    return self._checked_identity(identifier, identity, ids)
                ids[identifier] = identity
            elif identity is EXEMPTED:
                return EXEMPTED  # type: ignore[no-any-return]  # the sentinel
        else:
            identity = None
            if identifier is get_remote_address:
                # The default identifier, inline for a peer address without a colon (IPv4, a
                # name), which it returns as it is; any other peer gets the call (IPv6 spelling).
                client = scope.get("client")
                if client:
                    identity = client[0]
            if type(identity) is not str or ":" in identity:
                identity = identifier(connection)
                if type(identity) is not str:
                    return self._checked_identity(identifier, identity, None)
        # -- key: the _key step, inline (see there why each component is what it is) --
        if ":" in identity or "\\" in identity or not identity.isascii():
            identity = escape_component(identity)
        if not self._use_method:
            prefixed: str = self._key_prefix + identity
            return prefixed
        method = self._KEY_METHOD or scope.get("method") or scope["type"].upper()
        method_component = _METHOD_COMPONENTS.get(method)
        if method_component is None:
            method_component = escape_component(method)
        if key_path is None:
            route = scope.get("route")
            if route is None:  # not routed (yet): the concrete path
                path = scope["path"]
            else:
                template = getattr(route, "path_format", None)
                path = scope.get("root_path", "") + template if isinstance(template, str) else scope["path"]
            key_path = path if ":" not in path and "\\" not in path and path.isascii() else escape_component(path)
        key: str = f"{self._key_prefix}{identity}:{method_component}:{key_path}"
        return key

    async def _lane_pending(
        self, connection: ConnectionT, pending: Exempted | Awaitable[Any], key_path: str | None
    ) -> bool:
        """A lane hit whose identifier answered ``EXEMPTED`` or an awaitable (an async identifier)."""
        identity = pending if pending is EXEMPTED else await pending
        if identity is EXEMPTED:
            if DISPATCH.observers:
                lane = self._lane
                assert lane is not None  # the lane gave this pending identity
                _, bound, _, _, rate, cost, _, _, _ = lane
                report_exempted(self._uid, bound, rate, cost, self._in_shadow())
            return True
        return await self._lane_send(connection, self._key(connection, identity, key_path))

    async def _lane_send(self, connection: ConnectionT, key: str) -> bool:
        """The backend call and the verdict of a lane hit (inline in :meth:`_hit` and ``hit()``)."""
        lane = self._lane
        assert lane is not None
        step = lane[8]
        try:
            if step is not None:
                decision = step(key, lane[3], lane[4], lane[5])
            else:
                decision = await lane[2](key, lane[3], lane[4], lane[5])
        except Exception as exc:
            return await self._lane_failed(connection, key, exc)
        if decision.allowed and not FAILING and lane[0].headers is None:
            return True
        return await self._lane_verdict(connection, key, decision)

    def _lane_hit(self, connection: ConnectionT, key: str) -> PreparedHit[ConnectionT]:
        """The prepared hit of a lane hit, for the steps after the backend call (built only when one needs it)."""
        lane = self._lane
        assert lane is not None  # called for a lane hit only
        config, bound, _, _, rate, cost, _, _, _ = lane
        return (connection, config, bound, self._context, cost, rate, key)

    async def _lane_failed(self, connection: ConnectionT, key: str, exc: Exception) -> bool:
        """A lane hit whose backend call raised: the ``on_error`` policy (no observer timed it)."""
        if isinstance(exc, ConfigurationError):
            raise exc
        return await self._failed(self._lane_hit(connection, key), exc, None)

    async def _lane_verdict(self, connection: ConnectionT, key: str, decision: Decision) -> bool:
        """A lane hit's decision when there is more to do than admitting: a recovery to log, headers, a denial."""
        hit = self._lane_hit(connection, key)
        if FAILING:  # some backend failed lately: if it was this one, log its recovery once
            note_recovery(hit[2].backend)
        if decision.allowed:
            headers = hit[1].headers
            if headers is not None and (self._shadow_headers or not self._in_shadow()):
                self._record(hit, headers, decision, 0.0)
            return True
        return await self._deny(hit, decision)
