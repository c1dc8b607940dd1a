"""The lane: the common hit of a throttle, with everything but the client precomputed.

A throttle whose rate and cost are constants, whose backend is fixed and
whose rules are known to be none keeps a :class:`Lane` per configuration,
built at its first hit through the step-by-step chain
(:mod:`traffik.throttles._pipeline`). From then on a hit with no per-hit cost
or context is one synchronous call (:meth:`LaneSteps._hit_now`: identity
inline, the key looked up in the lane's :class:`KeyCache`, built once per
client and route, and the backend call) and awaits nothing when the backend
answers without a coroutine (the in-memory backend's own ``hit``) and nothing
is left to do. Anything else (an async identifier's answer, an exempted
client, a denial, a failure, headers to record, an observer to tell) goes on
through the chain's steps with the same results: an observed hit skips the
chain's rules, identity and key steps, and its backend call is timed and
reported by the chain's last step (:meth:`HitPipeline._consume`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Final

from traffik.error_handlers._monitor import FAILING, note_recovery
from traffik.events._dispatch import DISPATCH
from traffik.exceptions import ConfigurationError
from traffik.identifiers import get_remote_address
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy
from traffik.throttles._config import BackendCall, Bound, Config
from traffik.throttles._pipeline import HitPipeline
from traffik.throttles._report import report_exempted
from traffik.throttles._scope import IDS_KEY
from traffik.throttles._verdict import ConnectionT, PreparedHit

if TYPE_CHECKING:
    from traffik.backends.inmemory._admit import Admitter
from traffik.types import EXEMPTED, Exempted, IdentifierFunc

__all__ = ["KEY_CACHE_SIZE", "KeyCache", "Lane", "LaneSteps", "SyncCall", "route_path"]


class Lane:
    """What the common hits of one configuration share, computed once.

    Built at the first hit of a configuration whose rate and cost are
    constants, whose backend is fixed and whose rules are known to be none;
    ``update_*`` makes a new configuration and clears the throttle's lane, so
    a lane never outlives the settings it copies (and the common hit need not
    compare configurations). Attributes (slots: read as fast as a tuple's items):

    * ``config``, ``bound``: the configuration and its backend binding;
      ``consume``, ``strategy``, ``rate``, ``cost``, ``identifier``: theirs.
    * ``cache_ids``: compute the identifier once per connection.
    * ``step``: ``consume`` answered without a coroutine, when the backend's
      call is one that never awaits (:func:`_synchronous`), else ``None``.
    * ``admit``: with ``step`` and ``quiet``, the in-memory backend's
      :func:`~traffik.backends.inmemory._admit.window_admitter` when it serves
      this strategy, rate and cost: an admitted hit builds no decision
      (nobody reads it); ``None`` otherwise.
    * ``keys``: the lane's :class:`KeyCache`: new with every lane, so a key
      built under one identifier is never handed out under another.
    * ``by_address``: the identifier is the default one and keys carry the
      request's method and path, so a hit's cache entry is ``(method, path,
      peer address)``, read straight from the scope.
    * ``quiet``: the configuration resolves no headers, so an admitted hit
      records nothing for the response.
    """

    __slots__ = (
        "admit",
        "bound",
        "by_address",
        "cache_ids",
        "config",
        "consume",
        "cost",
        "identifier",
        "keys",
        "quiet",
        "rate",
        "step",
        "strategy",
    )

    def __init__(self, config: Config, bound: Bound, rate: Rate, cost: int, cache_ids: bool, by_address: bool) -> None:
        self.config = config
        self.bound = bound
        self.consume: BackendCall = bound.consume
        self.strategy: ThrottleStrategy = bound.strategy
        self.rate = rate
        self.cost = cost
        self.identifier: IdentifierFunc = bound.identifier
        self.cache_ids = cache_ids
        self.step = _synchronous(bound)
        self.keys = KeyCache()
        self.by_address = by_address
        self.quiet = config.headers is None
        self.admit = _admitter(bound, rate, cost) if self.quiet and self.step is not None else None


SyncCall = Callable[[str, ThrottleStrategy, Rate, int], Decision]


class KeyCache(dict[object, dict[object, dict[str, str]]]):
    """A lane's keys by method, path and identity, so the next hit of a known client and route reuses its key.

    Three lookups cost a fraction of building a key (escaping checks, a
    join) and allocate nothing; the backend gets the same string object
    again, its hash already computed. The identity is the raw peer address
    with the default identifier (which is a pure function of it). The path
    level holds the request's path (a route's template after the root path),
    or a middleware's escaped pattern as a 1-tuple, never equal to a path;
    keys that are one per client are under method and path ``None``.
    Bounded: cleared when :data:`KEY_CACHE_SIZE` keys are held, so clients
    or paths that never come back cost nothing for long.
    """

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def lookup(self, method: object, path: object, identity: str) -> str | None:
        """The key cached for ``identity`` on ``method`` and ``path``; ``None`` when there is none."""
        by_path = self.get(method)
        if by_path is None:
            return None
        by_identity = by_path.get(path)
        return None if by_identity is None else by_identity.get(identity)

    def store(self, method: object, path: object, identity: str, key: str) -> None:
        """Cache ``key`` (not cached yet) for ``identity`` on ``method`` and ``path``, clearing a full cache first."""
        if self.size >= KEY_CACHE_SIZE:
            self.clear()
            self.size = 0
        self.setdefault(method, {}).setdefault(path, {})[identity] = key
        self.size += 1


#: Entries a lane's :data:`KeyCache` holds before it is cleared.
KEY_CACHE_SIZE: Final = 4096


def route_path(scope: Mapping[str, Any], route: object) -> str:
    """The path a routed request is keyed on: the matched route's template, after the app's root path.

    Keying on the template (``/items/{item_id}``), not the concrete path, stops
    a client from multiplying its quota by varying path parameters; a route
    without a string template is keyed on the concrete path.
    """
    template = getattr(route, "path_format", None)
    return scope.get("root_path", "") + template if isinstance(template, str) else scope["path"]  # type: ignore[no-any-return]


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


def _admitter(bound: Bound, rate: Rate, cost: int) -> Admitter | None:
    """The admitter of a quiet lane whose step is the in-memory backend's own (see :func:`_synchronous`)."""
    from traffik.backends.inmemory._admit import window_admitter

    return window_admitter(bound.backend, bound.strategy, rate, cost)  # type: ignore[arg-type]  # _synchronous() checked it


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
        by_address = identifier is get_remote_address and self._use_method and self._KEY_METHOD is None
        return Lane(config, bound, rate, cost, cache_ids, by_address)

    # -- the consuming hit ---------------------------------------------------------------------

    def _hit_now(self, connection: ConnectionT, key_path: str | None = None) -> Coroutine[Any, Any, bool] | None:
        """A hit with the throttle's own cost and context, done at once when it can be.

        ``None``: done (admitted, or the throttle is disabled) with nothing
        left to do: the common hit of a lane whose backend answers without a
        coroutine (the in-memory backend), so a caller awaits nothing. Else
        the coroutine that finishes the hit, to await exactly once; its result
        is :meth:`_hit`'s. A known client on a known route (default
        identifier) has its key in the lane's :class:`KeyCache`, read inline
        with subscripts; anything else takes :meth:`_lane_key`, then the chain.
        """
        if self._disabled:
            return None
        lane = self._lane
        key: Any = None
        if lane is not None and lane.by_address and key_path is None:
            scope = connection.scope
            route = scope.get("route")
            path = scope["path"] if route is None else route_path(scope, route)
            try:  # KeyCache.lookup in subscripts (cheaper than .get()); a miss raises, once per client and route
                key = lane.keys[scope["method"]][path][scope["client"][0]]
            except (KeyError, IndexError, TypeError):  # not cached, no peer, not hashable: below
                key = None
        if key is None:
            key = self._lane_key(connection, key_path)
            lane = self._lane
            if type(key) is not str:
                if key is not None:  # an exempted client, or an async identifier's answer to await
                    return self._lane_pending(connection, lane, key, key_path)
                return self._hit_prepared(connection, None, None, key_path)
        assert lane is not None  # a key is a lane's
        if DISPATCH.observers:  # timed and reported by the chain's own last step
            return self._consume(self._lane_hit(connection, lane, key), lane.step)
        step = lane.step
        if step is None:  # a backend call to await
            return self._lane_send(connection, lane, key)
        admit = lane.admit
        try:
            if admit is not None and not FAILING and admit(key):  # admitted, and nothing to record
                return None
            decision = step(key, lane.strategy, lane.rate, lane.cost)
        except Exception as exc:
            return self._lane_failed(connection, lane, key, exc)
        if decision.allowed and lane.quiet and not FAILING:
            return None
        return self._lane_verdict(connection, lane, key, decision)

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

        The common hit takes the throttle's :class:`Lane` (:meth:`_hit_now`).
        """
        if self._disabled:
            return True
        if cost is None and context is None:
            pending = self._hit_now(connection, key_path)
            return True if pending is None else await pending
        return await self._hit_prepared(connection, cost, context, key_path)

    def _lane_key(self, connection: ConnectionT, key_path: str | None) -> str | Exempted | Awaitable[Any] | None:
        """The key of a hit the lane takes, without a coroutine: identity inline, the key from the lane's cache.

        ``None``: the lane cannot take this hit (none built for the current
        configuration yet). ``EXEMPTED``: an exempted client. An
        awaitable: the identifier's answer still to be awaited and checked
        (:meth:`_lane_pending`). A key not in the lane's :class:`KeyCache` is
        built by the chain's own :meth:`_key`, so both always agree.
        """
        lane = self._lane
        if lane is None:
            return None
        scope = connection.scope
        if lane.by_address and key_path is None:  # a known client on a known route is a lookup
            route = scope.get("route")
            known = scope["path"] if route is None else route_path(scope, route)
            try:  # KeyCache.lookup in subscripts (as in _hit_now()); a miss raises, once per client and route
                return lane.keys[scope["method"]][known][scope["client"][0]]
            except (KeyError, IndexError, TypeError):  # not cached, no peer, not hashable: the steps below
                pass
        identifier = lane.identifier
        # -- identity: the _identify step, inline --
        identity: Any
        if lane.cache_ids:
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
            raw = False
        else:
            identity = None
            raw = identifier is get_remote_address
            if raw:
                # The default identifier is a pure function of the peer's address: keys are cached
                # under the address as the scope has it, and the identifier runs only on a miss.
                client = scope.get("client")
                if client:
                    identity = client[0]
                if type(identity) is not str:  # no peer, or not a str: rare, not cached
                    return self._key(connection, get_remote_address(connection), key_path)
            else:
                identity = identifier(connection)
                if type(identity) is not str:
                    return self._checked_identity(identifier, identity, None)
        # -- key: from the lane's cache, else the _key step --
        method: object = None
        path: object = None
        if self._use_method:
            method = self._KEY_METHOD or scope.get("method") or scope["type"].upper()
            if key_path is None:
                route = scope.get("route")
                # Not routed (yet): the concrete path.
                path = scope["path"] if route is None else route_path(scope, route)
            else:
                path = (key_path,)  # a middleware's escaped pattern: never equal to a path
        keys = lane.keys
        key = keys.lookup(method, path, identity)
        if key is None:
            key = self._key(connection, get_remote_address(connection) if raw else identity, key_path)
            keys.store(method, path, identity, key)
        return key

    # A lane hit that goes on after an await keeps the lane it started with, passed along: an
    # update meanwhile clears the throttle's ``_lane``, and the hit finishes as it began.

    async def _lane_pending(
        self, connection: ConnectionT, lane: Lane | None, pending: Exempted | Awaitable[Any], key_path: str | None
    ) -> bool:
        """A lane hit whose identifier answered ``EXEMPTED`` or an awaitable (an async identifier)."""
        assert lane is not None  # the lane gave this pending identity
        identity = pending if pending is EXEMPTED else await pending
        if identity is EXEMPTED:
            if DISPATCH.observers:
                report_exempted(self._uid, lane.bound, lane.rate, lane.cost, self._in_shadow())
            return True
        return await self._lane_send(connection, lane, self._key(connection, identity, key_path))

    async def _lane_send(self, connection: ConnectionT, lane: Lane, key: str) -> bool:
        """The backend call and the verdict of a lane hit (the step is inline in :meth:`_hit_now`)."""
        if DISPATCH.observers:
            return await self._consume(self._lane_hit(connection, lane, key), lane.step)
        step = lane.step
        try:
            if step is not None:
                decision = step(key, lane.strategy, lane.rate, lane.cost)
            else:
                decision = await lane.consume(key, lane.strategy, lane.rate, lane.cost)
        except Exception as exc:
            return await self._lane_failed(connection, lane, key, exc)
        if decision.allowed and lane.quiet and not FAILING:
            return True
        return await self._lane_verdict(connection, lane, key, decision)

    def _lane_hit(self, connection: ConnectionT, lane: Lane, key: str) -> PreparedHit[ConnectionT]:
        """The prepared hit of a lane hit, for the steps after the backend call (built only when one needs it)."""
        return (connection, lane.config, lane.bound, self._context, lane.cost, lane.rate, key)

    async def _lane_failed(self, connection: ConnectionT, lane: Lane, key: str, exc: Exception) -> bool:
        """A lane hit whose backend call raised: the ``on_error`` policy (no observer timed it)."""
        if isinstance(exc, ConfigurationError):
            raise exc
        return await self._failed(self._lane_hit(connection, lane, key), exc, None)

    async def _lane_verdict(self, connection: ConnectionT, lane: Lane, key: str, decision: Decision) -> bool:
        """A lane hit's decision when there is more to do than admitting: a recovery to log, headers, a denial."""
        hit = self._lane_hit(connection, lane, key)
        if FAILING:  # some backend failed lately: if it was this one, log its recovery once
            note_recovery(hit[2].backend)
        if decision.allowed:
            headers = hit[1].headers
            if headers is not None and (self._shadow_headers or not self._in_shadow()):
                self._record(hit, headers, decision, 0.0)
            return True
        return await self._deny(hit, decision)
