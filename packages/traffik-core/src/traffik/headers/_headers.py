"""A collection of response headers, resolved together from one stat."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Final, Union

from starlette.requests import HTTPConnection

from traffik.exceptions import ConfigurationError
from traffik.headers._header import DISABLE, Disable, Header
from traffik.types import StrategyStat
from traffik.validation import Validator, invalid, non_empty_string

__all__ = ["HeaderValue", "Headers", "HeadersLike", "as_headers"]

HeaderValue = Union[Header, str, Disable]
"""What a ``Headers`` mapping accepts: a :class:`Header`, a static string (sent always), or ``Header.DISABLE``."""

HeadersLike = Union["Headers", Mapping[str, HeaderValue]]


_NAME: Final = non_empty_string.described("non-empty strings")
_VALUE: Final[Validator[object]] = Validator(
    "a Header, a string or Header.DISABLE", lambda value: isinstance(value, (Header, str)) or value is DISABLE
)
_HEADERS: Final[Validator[object]] = Validator("a mapping of name -> Header", lambda value: isinstance(value, Mapping))


def _coerce(name: object, value: object) -> tuple[str, Header | Disable]:
    checked_name: str = _NAME("Headers", "header names", name)
    _VALUE("Headers", f"value of {name!r}", value)
    if isinstance(value, str):
        # A plain string is a fixed header the user wants to see; sending it
        # only on 429s would surprise, so it goes out on every response.
        return checked_name, Header(value, when="always")
    assert isinstance(value, (Header, Disable))  # what _VALUE accepts
    return checked_name, value


class Headers(MutableMapping[str, Union[Header, Disable]]):
    """Header name -> :class:`Header`, resolved per request from the hit's stat.

    Names compare case-insensitively (``x-ratelimit-limit`` replaces
    ``X-RateLimit-Limit``) and keep the spelling last given. A value of
    ``Header.DISABLE`` removes that header when resolving, which is how a
    merge or a ``get_headers`` override suppresses one.

    Supports ``|`` (a new, merged collection; the right side wins) and
    :meth:`copy`. Throttles keep their own copy, so mutating a collection
    after handing it to a throttle does not change that throttle.

    Example:
        >>> from traffik.headers import Header, Headers
        >>> base = Headers({"X-RateLimit-Limit": Header.LIMIT(when="always")})
        >>> merged = base | {"Retry-After": Header.RESET_SECONDS(when="throttled")}
        >>> sorted(merged), sorted(base)
        (['Retry-After', 'X-RateLimit-Limit'], ['X-RateLimit-Limit'])
    """

    __slots__ = ("_frozen", "_items", "_names")

    def __init__(self, headers: HeadersLike | None = None, *, frozen: bool = False) -> None:
        self._items: dict[str, Header | Disable] = {}
        self._names: dict[str, str] = {}
        self._frozen = False
        if headers is not None:
            _HEADERS("Headers", "headers", headers)
            for name, value in headers.items():
                self[name] = value
        self._frozen = frozen

    # -- mapping protocol -----------------------------------------------------

    def __getitem__(self, name: str) -> Header | Disable:
        return self._items[self._names[name.lower()]]

    def __setitem__(self, name: str, value: HeaderValue) -> None:
        if self._frozen:
            raise TypeError("this Headers preset is read-only; use .copy() or | to derive your own")
        key, header = _coerce(name, value)
        lowered = key.lower()
        previous = self._names.get(lowered)
        if previous is not None:
            del self._items[previous]
        self._names[lowered] = key
        self._items[key] = header

    def __delitem__(self, name: str) -> None:
        if self._frozen:
            raise TypeError("this Headers preset is read-only; use .copy() or | to derive your own")
        key = self._names.pop(name.lower())
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._names

    # -- merging ----------------------------------------------------------------

    def copy(self) -> Headers:
        """A shallow, mutable copy (also of a read-only preset)."""
        return Headers(self._items)

    def __or__(self, other: object) -> Headers:
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = Headers(self._items)
        for name, value in other.items():
            merged[name] = value
        return merged

    def __ror__(self, other: object) -> Headers:
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = Headers(other)
        for name, value in self._items.items():
            merged[name] = value
        return merged

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self == Headers(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable mapping: not hashable

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    # -- resolving ------------------------------------------------------------

    def resolve(
        self,
        connection: HTTPConnection,
        stat: StrategyStat,
        context: Mapping[str, Any],
        throttled: bool,
    ) -> dict[str, str]:
        """The headers that apply to this response, with their values.

        Args:
            connection: The request or WebSocket.
            stat: The snapshot of the hit (the same decision that admitted or denied it).
            context: The throttle's context.
            throttled: Whether the client is out of quota (always true on a 429).
        """
        resolved: dict[str, str] = {}
        for name, header in self._items.items():
            if header is DISABLE:
                continue
            assert isinstance(header, Header)
            if header.applies(connection, stat, context, throttled):
                resolved[name] = header.resolve(connection, stat, context)
        return resolved


def as_headers(value: object, owner: str) -> Headers | None:
    """Normalise a throttle's ``headers`` argument into a private :class:`Headers` copy (or ``None``)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        try:
            return Headers(value)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{owner}: invalid headers: {exc}") from None
    raise invalid(owner, "headers", "a Headers collection, a dict or None", value)
