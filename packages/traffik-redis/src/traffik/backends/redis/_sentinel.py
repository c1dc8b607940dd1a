"""Redis behind Sentinel: ``redis+sentinel://`` URLs and the client they describe.

The URL names the Sentinels and the service they watch::

    redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?option=value...]

* ``user:password`` authenticate to the primary (the data), not to Sentinel;
* each ``host:port`` is a Sentinel (port 26379 when left out), asked in turn;
* ``service_name`` is the name given to ``sentinel monitor``; ``db`` defaults to 0;
* options: ``sentinel_username`` and ``sentinel_password`` authenticate to the
  Sentinels themselves (``requirepass`` in ``sentinel.conf``).

The client is redis-py's own: ``Sentinel(...).master_for(service_name)``, whose
connections ask Sentinel where the primary is each time they connect. So after
a failover, a connection that meets the demoted primary (``READONLY``) is
dropped and reconnects to the new one (see
:mod:`traffik.backends.redis._connections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from traffik.backends.redis._hosts import parse_host_port
from traffik.exceptions import ConfigurationError

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

__all__ = ["SentinelURL", "check_sentinel_url", "parse_sentinel_url", "sentinel_client_from_url"]

SCHEME: Final = "redis+sentinel"
DEFAULT_SENTINEL_PORT: Final = 26379
_OPTIONS: Final = ("sentinel_username", "sentinel_password")
_SENTINEL_CLIENT_OPTIONS: Final = ("socket_timeout", "socket_connect_timeout", "retry")
_OWNER: Final = "RedisBackend"


@dataclass(frozen=True)
class SentinelURL:
    """What a ``redis+sentinel://`` URL says (see the module docstring for the form)."""

    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def check_sentinel_url(url: str) -> None:
    """Raise :class:`~traffik.exceptions.ConfigurationError` unless ``url`` is a valid ``redis+sentinel://`` URL.

    Example:
        >>> check_sentinel_url("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/0")
        >>> check_sentinel_url("redis+sentinel://10.0.0.1:26379")
        Traceback (most recent call last):
        ...
        traffik.exceptions.ConfigurationError: RedisBackend: a redis+sentinel:// url needs the service name ...
    """
    parse_sentinel_url(url)


def parse_sentinel_url(url: str) -> SentinelURL:
    """The parts of a ``redis+sentinel://`` URL.

    Raises:
        ConfigurationError: ``url`` is not one; the message names what is wrong (never the password).
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigurationError(f"{_OWNER}: invalid url {_redact(url)!r}: {exc}") from exc
    if parts.scheme.lower() != SCHEME:
        raise ConfigurationError(f"{_OWNER}: expected a {SCHEME}:// url, got {_redact(url)!r}")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if not hosts:
        raise ConfigurationError(f"{_OWNER}: a {SCHEME}:// url needs at least one Sentinel host, got {_redact(url)!r}")
    sentinels = tuple(_host_port(url, entry) for entry in hosts.split(","))
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ConfigurationError(
            f"{_OWNER}: a {SCHEME}:// url needs the service name as its path (/service_name[/db]), got {_redact(url)!r}"
        )
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise ConfigurationError(f"{_OWNER}: the db in {_redact(url)!r} must be a whole number >= 0")
        db = int(path[1])
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"{_OWNER}: unknown option(s) {', '.join(unknown)} in {_redact(url)!r}; "
            f"a {SCHEME}:// url accepts {', '.join(_OPTIONS)}"
        )
    return SentinelURL(
        sentinels=sentinels,
        service_name=unquote(path[0]),
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username") or None,
        sentinel_password=options.get("sentinel_password") or None,
    )


def sentinel_client_from_url(url: str, **client_options: Any) -> Redis:
    """The Sentinel-managed client of the primary that ``url`` names (no I/O: it connects on first use).

    Args:
        url: A ``redis+sentinel://`` URL (see :func:`parse_sentinel_url`).
        **client_options: Keywords for the primary's connections (``socket_timeout``,
            ``socket_connect_timeout``, ``retry``, ``max_connections``...). The timeouts
            and ``retry`` also apply to the Sentinels, so asking them is bounded too.

    Raises:
        ConfigurationError: ``url`` is invalid.
    """
    parsed = parse_sentinel_url(url)
    sentinel_options: dict[str, Any] = {k: client_options[k] for k in _SENTINEL_CLIENT_OPTIONS if k in client_options}
    if parsed.sentinel_username is not None:
        sentinel_options["username"] = parsed.sentinel_username
    if parsed.sentinel_password is not None:
        sentinel_options["password"] = parsed.sentinel_password
    sentinel = Sentinel(list(parsed.sentinels), sentinel_kwargs=sentinel_options)
    options = dict(client_options)
    options["db"] = parsed.db
    if parsed.username is not None:
        options["username"] = parsed.username
    if parsed.password is not None:
        options["password"] = parsed.password
    client: Redis = sentinel.master_for(
        parsed.service_name, redis_class=Redis, connection_pool_class=_ClosingSentinelPool, **options
    )
    return client


class _ClosingSentinelPool(SentinelConnectionPool):
    """A Sentinel pool that also closes its connections to the Sentinels when it closes.

    redis-py leaves them to the ``Sentinel`` object, which a client built from
    a URL keeps to itself: without this, closing the backend would leave them
    open until garbage collection.
    """

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:  # the whole pool closes (not get_master_address() dropping idle ones)
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.connection_pool.disconnect()


def _host_port(url: str, entry: str) -> tuple[str, int]:
    parsed = parse_host_port(entry, DEFAULT_SENTINEL_PORT)
    if parsed is None:
        entry = entry.strip()
        raise ConfigurationError(
            f"{_OWNER}: invalid Sentinel host {entry!r} in url {_redact(url)!r}: expected host:port"
        )
    return parsed


def _redact(url: str) -> str:
    """``url`` with its passwords (the primary's and ``sentinel_password``) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        parts = parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hosts}")
    if "sentinel_password" in parts.query:
        query = "&".join(
            f"{key}=***" if key == "sentinel_password" else f"{key}={value}"
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        )
        parts = parts._replace(query=query)
    return parts.geturl()
