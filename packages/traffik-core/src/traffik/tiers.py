"""One server-side lookup for a client's identity and its tier, and the tier's rate.

Plans ("free", "pro") are a property of the account, not of the request:
reading the plan from a header the client sends lets any client pick the
highest one. :class:`Tiers` takes one callable that looks the client up on
the server (an API key in a database, a session, a token's verified claims)
and returns who the client is *and* its tier together; a table maps each
tier to its rate. Give the throttle ``identifier=tiers.identifier`` and
``rate=tiers.rate``: the lookup runs once per connection, however many
throttles and calls (``hit``, ``check``, ``stat``) use it.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Union

from starlette.requests import HTTPConnection

from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.types import EXEMPTED, Exempted
from traffik.validation import callable_, invalid

__all__ = ["TierLookup", "Tiers"]

TierLookup = Callable[[Any], Union[tuple[str, str], Exempted, Awaitable[Union[tuple[str, str], Exempted]]]]
"""``(connection) -> (identity, tier)`` or :data:`~traffik.EXEMPTED`, sync or async."""

_SCOPE_KEY: Final = "traffik.tiers"
"""Scope key: ``{Tiers: (identity, rate) or EXEMPTED}``, each lookup's answer for this connection."""

_OWNER: Final = "Tiers"

_lookup_validator: Final = callable_()

_Resolved = Union[tuple[str, Rate], Exempted]


class Tiers:
    """Identity and tier from one server-side lookup; each tier's rate from a table.

    Args:
        lookup: ``(connection) -> (identity, tier)``, sync or async. Resolve
            the client on the server (e.g. find the account of the API key
            it sent) and return a stable identity (the account id, not the
            secret key) and the account's tier, a key of ``rates``. Return
            :data:`~traffik.EXEMPTED` to skip throttling the connection.
            Clients without credentials are a tier too: return e.g.
            ``(f"ip:{address}", "anonymous")``.
        rates: ``{tier: rate}``, each rate a string (``"100/min"``) or a
            :class:`~traffik.Rate`; parsed here, once.

    Attributes:
        rates: The parsed table, ``{tier: Rate}``.

    Raises:
        ConfigurationError: ``lookup`` is not callable, ``rates`` is empty or
            not a mapping, a tier is not a non-empty string, or a rate is
            invalid. At request time: the lookup returned something other than
            an ``(identity, tier)`` pair of strings or ``EXEMPTED``, or a tier
            ``rates`` does not list.

    Example:
        >>> from traffik import HTTPThrottle
        >>> from traffik.registry import ThrottleRegistry
        >>> ACCOUNTS = {"key-1": ("acct-1", "pro")}  # your database
        >>> def account_of(request):
        ...     key = request.headers.get("x-api-key", "")
        ...     return ACCOUNTS.get(key) or (f"ip:{request.client.host}", "anonymous")
        >>> tiers = Tiers(account_of, rates={"anonymous": "10/min", "pro": "1000/min"})
        >>> api = HTTPThrottle("api", rate=tiers.rate, identifier=tiers.identifier, registry=ThrottleRegistry())
        >>> tiers.rates["pro"]
        Rate(limit=1000, milliseconds=60000)
    """

    __slots__ = ("_lookup", "rates")

    def __init__(self, lookup: TierLookup, rates: Mapping[str, str | Rate]) -> None:
        self._lookup = _lookup_validator(_OWNER, "lookup", lookup)
        self.rates: Mapping[str, Rate] = _parse_rates(rates)

    def __repr__(self) -> str:
        return f"Tiers({self._lookup!r}, rates={dict(self.rates)!r})"

    async def resolve(self, connection: HTTPConnection) -> tuple[str, Rate] | Exempted:
        """``(identity, rate)`` of ``connection``, or ``EXEMPTED``; the lookup runs once per connection."""
        scope = connection.scope
        answers: dict[Tiers, _Resolved] | None = scope.get(_SCOPE_KEY)
        if answers is None:
            answers = scope[_SCOPE_KEY] = {}
        else:
            cached = answers.get(self)
            if cached is not None:
                return cached
        answer: object = self._lookup(connection)
        if inspect.isawaitable(answer):
            answer = await answer
        resolved = self._checked(answer)
        answers[self] = resolved
        return resolved

    async def identifier(self, connection: HTTPConnection) -> str | Exempted:
        """The throttle's ``identifier=``: the identity the lookup returned (or ``EXEMPTED``)."""
        resolved = await self.resolve(connection)
        return resolved if resolved is EXEMPTED else resolved[0]

    async def rate(self, connection: HTTPConnection, context: Mapping[str, Any]) -> Rate:
        """The throttle's ``rate=``: the rate of the tier the lookup returned.

        An exempted connection never gets here (the throttle skips it first);
        if asked anyway, the answer is an unlimited rate.
        """
        resolved = await self.resolve(connection)
        return Rate() if resolved is EXEMPTED else resolved[1]

    def _checked(self, answer: object) -> _Resolved:
        if answer is EXEMPTED:
            return EXEMPTED
        if not (
            isinstance(answer, tuple)
            and len(answer) == 2
            and isinstance(answer[0], str)
            and answer[0]
            and isinstance(answer[1], str)
        ):
            raise ConfigurationError(
                f"{_OWNER}: lookup {self._lookup!r} must return an (identity, tier) pair of strings or EXEMPTED, "
                f"got {answer!r}"
            )
        identity, tier = answer
        rate = self.rates.get(tier)
        if rate is None:
            raise ConfigurationError(
                f"{_OWNER}: lookup {self._lookup!r} returned tier {tier!r}, which rates does not list "
                f"(tiers: {sorted(self.rates)!r})"
            )
        return (identity, rate)


def _parse_rates(rates: object) -> Mapping[str, Rate]:
    if not isinstance(rates, Mapping) or not rates:
        raise invalid(_OWNER, "rates", "a non-empty mapping {tier: rate}", rates)
    parsed: dict[str, Rate] = {}
    for tier, rate in rates.items():
        if not isinstance(tier, str) or not tier:
            raise invalid(_OWNER, "rates", "keyed by non-empty tier names (str)", tier)
        if isinstance(rate, Rate):
            parsed[tier] = rate
            continue
        if not isinstance(rate, str):
            raise invalid(_OWNER, f"rates[{tier!r}]", "a rate string or a Rate", rate)
        try:
            parsed[tier] = Rate.parse(rate)
        except (ConfigurationError, ValueError) as exc:
            raise ConfigurationError(f"{_OWNER}: rates[{tier!r}] is an invalid rate {rate!r}: {exc}") from None
    return types.MappingProxyType(parsed)
