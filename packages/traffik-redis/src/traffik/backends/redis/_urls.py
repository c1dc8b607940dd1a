"""Redis URLs: which deployment shape a URL names, checking it at construction, and the client it builds.

=================================================  ==========================================
URL                                                Client
=================================================  ==========================================
``redis://[user:pass@]host:port/db``               ``redis.asyncio.Redis`` on a connection pool
``rediss://...?ssl_ca_certs=/ca.pem``              the same over TLS
``unix:///path/redis.sock?db=0``                   the same over a unix socket
``redis://host:port`` with ``cluster=True``        ``redis.asyncio.RedisCluster`` (one seed)
``redis+cluster://host:port[,host:port...]``       ``RedisCluster``, every host a startup node
``rediss+cluster://...``                           the same over TLS
``redis+sentinel://host:port[,...]/service[/db]``  a Sentinel ``master_for`` client (``_sentinel``)
=================================================  ==========================================

Query parameters are redis-py's own (``from_url``): ``ssl_ca_certs``,
``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``, ``ssl_check_hostname``,
``socket_timeout``, ``health_check_interval``... A value in the URL wins over the
backend's keyword of the same name, as in redis-py.

Everything is checked when the backend is built: an unknown scheme or
parameter, a malformed host list, a missing TLS file or a bad value raises
:class:`~traffik.exceptions.ConfigurationError` naming the URL with its
password replaced by ``***``. Building a client does no I/O.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Final, Union
from urllib.parse import parse_qsl, urlencode, urlsplit

from traffik.backends.redis._hosts import parse_host_port
from traffik.exceptions import ConfigurationError

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import Connection, ConnectionPool, SSLConnection, parse_url
from redis.exceptions import RedisClusterException, RedisError

__all__ = [
    "CLUSTER_SCHEMES",
    "SENTINEL_SCHEMES",
    "URL_SCHEMES",
    "check_url",
    "client_from_url",
    "is_cluster_url",
    "redact",
    "where",
]

PLAIN_SCHEMES: Final = ("redis", "rediss", "unix")
CLUSTER_SCHEMES: Final = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES: Final = ("redis+sentinel",)
URL_SCHEMES: Final = (*PLAIN_SCHEMES, *CLUSTER_SCHEMES, *SENTINEL_SCHEMES)
_SENTINEL_MODULE: Final = "traffik.backends.redis._sentinel"
_DEFAULT_PORT: Final = 6379
_TLS_FILES: Final = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_OWNER: Final = "RedisBackend"

RedisClient = Union[Redis, RedisCluster]


def redact(url: str) -> str:
    """``url`` with any password (in the userinfo or a ``*password*`` query parameter) replaced by ``***``.

    Example:
        >>> redact("redis://app:s3cret@cache:6379/0?sentinel_password=x")
        'redis://app:***@cache:6379/0?sentinel_password=***'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}"
    query = parts.query
    if "password" in query.lower():
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if "password" in k.lower() else v) for k, v in pairs], safe="*/")
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return parts._replace(netloc=netloc, query=query).geturl()


def where(url: str) -> str:
    """The server(s) ``url`` points at, for messages: ``host:port[,host:port]`` or the socket path.

    Example:
        >>> where("redis://app:s3cret@cache:6380/0")
        'cache:6380'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.scheme.lower() == "unix":
        return parts.path
    return parts.netloc.rsplit("@", 1)[-1] or "localhost:6379"


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster by its scheme (``redis+cluster://``, ``rediss+cluster://``)."""
    return _scheme(url) in CLUSTER_SCHEMES


def check_url(url: str, cluster: bool = False) -> None:
    """Raise :class:`~traffik.exceptions.ConfigurationError` unless ``url`` (with ``cluster``) can build a client.

    Parses the URL as redis-py would, checks that the TLS files it names exist,
    and builds (without connecting) the connection it describes, so an unknown
    parameter or a bad value fails here rather than on the first hit.
    """
    scheme = _scheme(url)
    if scheme not in URL_SCHEMES:
        raise ConfigurationError(
            f"{_OWNER}: url must use one of {', '.join(s + '://' for s in URL_SCHEMES)}, got {redact(url)!r}"
        )
    if cluster and scheme not in ("redis", "rediss", *CLUSTER_SCHEMES):
        raise ConfigurationError(
            f"{_OWNER}: cluster=True needs a redis://, rediss:// or redis+cluster:// url, got {redact(url)!r}"
        )
    if scheme in SENTINEL_SCHEMES:
        _sentinel_function("check_sentinel_url", url)(url)
        return
    try:
        if scheme in CLUSTER_SCHEMES or cluster:
            nodes, kwargs = _cluster_arguments(url)
            _check_tls_files(url, kwargs)
            RedisCluster(startup_nodes=nodes, **kwargs)
        else:
            kwargs = dict(parse_url(url))
            _check_tls_files(url, kwargs)
            connection_class = kwargs.pop("connection_class", Connection)
            connection_class(**kwargs)
    except ConfigurationError:
        raise
    except (ValueError, TypeError, RedisError, RedisClusterException) as exc:
        raise ConfigurationError(f"{_OWNER}: invalid url {redact(url)!r}: {exc}") from exc


def client_from_url(url: str, *, cluster: bool, pool_size: int, **options: Any) -> RedisClient:
    """The redis-py asyncio client that ``url`` describes (no I/O; connections open on first use).

    Args:
        url: A URL that :func:`check_url` accepted.
        cluster: Connect to a ``redis://``/``rediss://`` URL as a Redis Cluster.
        pool_size: Most connections of a standalone or Sentinel-managed client's pool (a
            cluster client has a pool per node, sized by redis-py).
        **options: Client keywords (timeouts, ``retry``); a URL parameter of the same name wins.
    """
    scheme = _scheme(url)
    if scheme in SENTINEL_SCHEMES:
        client: RedisClient = _sentinel_function("sentinel_client_from_url", url)(
            url, max_connections=pool_size, **options
        )
        return client
    if scheme in CLUSTER_SCHEMES:
        nodes, kwargs = _cluster_arguments(url)
        return RedisCluster(startup_nodes=nodes, **{**options, **kwargs})
    if cluster:
        return RedisCluster.from_url(url, **options)
    # Not a BlockingConnectionPool: in redis-py 5.0 it hangs connecting to a
    # frozen server, whatever the timeouts.
    pool = ConnectionPool.from_url(url, max_connections=pool_size, **options)
    return Redis(connection_pool=pool)


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def _cluster_arguments(url: str) -> tuple[list[ClusterNode], dict[str, Any]]:
    """Startup nodes and client keywords of a cluster URL (one host for ``redis://``, several for ``+cluster``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    tls = scheme in ("rediss", "rediss+cluster")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    nodes = [ClusterNode(*_host_port(url, entry)) for entry in hosts.split(",")]
    # redis-py parses everything but the hosts: one host stands in for all of them.
    single = parts._replace(
        scheme="rediss" if tls else "redis", netloc=f"{userinfo}@127.0.0.1" if userinfo else "127.0.0.1"
    )
    kwargs: dict[str, Any] = dict(parse_url(single.geturl()))
    kwargs.pop("host", None)
    kwargs.pop("port", None)
    if kwargs.pop("connection_class", None) is SSLConnection:
        kwargs["ssl"] = True
    return nodes, kwargs


def _host_port(url: str, entry: str) -> tuple[str, int]:
    parsed = parse_host_port(entry, _DEFAULT_PORT)
    if parsed is None:
        entry = entry.strip()
        raise ConfigurationError(f"{_OWNER}: invalid host {entry!r} in url {redact(url)!r}: expected host:port")
    return parsed


def _check_tls_files(url: str, kwargs: dict[str, Any]) -> None:
    for name in _TLS_FILES:
        path = kwargs.get(name)
        if path is not None and not os.path.isfile(path):
            raise ConfigurationError(f"{_OWNER}: {name} in url {redact(url)!r} is not a readable file: {path!r}")


def _sentinel_function(name: str, url: str) -> Any:
    try:
        module = importlib.import_module(_SENTINEL_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != _SENTINEL_MODULE:
            raise
        raise ConfigurationError(
            f"{_OWNER}: redis+sentinel:// urls are not supported by this version, got {redact(url)!r}"
        ) from exc
    return getattr(module, name)
