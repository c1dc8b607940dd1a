"""Redis URLs: every deployment shape builds the right client, and a bad URL fails at construction, redacted."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection
from traffik.backends import backend_from_url
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._urls import client_from_url, redact, where
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.testing import free_port

from tests.redis.conftest import Cluster, unique_namespace
from tests.redis.strategies import DEFAULTS

SECRET = "s3cret-pw"


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
def ca_file(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    path.write_text("not checked until a connection is made\n")
    return str(path)


def _build(url: str, cluster: bool = False) -> Redis | RedisCluster:
    return client_from_url(url, cluster=cluster, pool_size=10, socket_timeout=0.5)


def test_redis_url_builds_a_pooled_client() -> None:
    client = _build(f"redis://app:{SECRET}@cache.example:6380/3")
    assert isinstance(client, Redis)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["username"]) == ("cache.example", 6380, 3, "app")
    assert client.connection_pool.max_connections == 10


def test_rediss_url_takes_the_tls_options_from_the_query(ca_file: str) -> None:
    url = f"rediss://cache.example:6380/0?ssl_ca_certs={ca_file}&ssl_cert_reqs=required&ssl_check_hostname=false"
    client = _build(url)
    assert isinstance(client, Redis)
    pool = client.connection_pool
    assert pool.connection_class is SSLConnection
    assert pool.connection_kwargs["ssl_ca_certs"] == ca_file
    assert pool.connection_kwargs["ssl_check_hostname"] is False


def test_unix_url_builds_a_socket_client() -> None:
    client = _build("unix:///run/redis/redis.sock?db=2")
    assert isinstance(client, Redis)
    assert client.connection_pool.connection_class is UnixDomainSocketConnection
    assert client.connection_pool.connection_kwargs["path"] == "/run/redis/redis.sock"


def test_a_url_parameter_wins_over_the_backend_keyword() -> None:
    client = _build("redis://cache.example:6379/0?socket_timeout=2.5")
    assert isinstance(client, Redis)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 2.5


def test_cluster_url_uses_every_host_as_a_startup_node() -> None:
    client = _build(f"redis+cluster://app:{SECRET}@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,node-d")
    assert isinstance(client, RedisCluster)
    assert list(client.nodes_manager.startup_nodes) == ["10.0.0.1:7000", "10.0.0.2:7001", "::1:7002", "node-d:6379"]
    assert client.nodes_manager.connection_kwargs["password"] == SECRET


def test_rediss_cluster_url_connects_every_node_over_tls(ca_file: str) -> None:
    client = _build(f"rediss+cluster://10.0.0.1:7000,10.0.0.2:7001?ssl_ca_certs={ca_file}")
    assert isinstance(client, RedisCluster)
    kwargs = client.nodes_manager.connection_kwargs
    assert kwargs["connection_class"] is SSLConnection
    assert kwargs["ssl_ca_certs"] == ca_file


def test_cluster_flag_with_a_redis_url_still_builds_a_cluster_client() -> None:
    assert isinstance(_build("redis://10.0.0.1:7000", cluster=True), RedisCluster)


def test_backend_from_url_knows_the_cluster_scheme() -> None:
    backend = backend_from_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7001", namespace="from-url")
    assert isinstance(backend, RedisBackend)
    assert backend.cluster


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (f"http://app:{SECRET}@cache:6379", "url must use one of"),
        (f"redis://app:{SECRET}@cache:6379/0?bogus_option=1", "bogus_option"),
        (f"redis://app:{SECRET}@cache:6379/zero?db=x", "db"),
        (f"rediss://app:{SECRET}@cache:6379/0?ssl_cert_reqs=sometimes", "sometimes"),
        (f"rediss://app:{SECRET}@cache:6379/0?ssl_ca_certs=/no/such/ca.pem", "ssl_ca_certs"),
        (f"rediss://app:{SECRET}@cache:6379/0?ssl_certfile=/no/such/cert.pem", "ssl_certfile"),
        (f"redis+cluster://app:{SECRET}@h1:7000,h2:port", "h2:port"),
        (f"redis+cluster://app:{SECRET}@h1:7000,", "invalid host"),
        (f"redis+cluster://app:{SECRET}@h1:7000/2", "db"),
        (f"unix://app:{SECRET}@/tmp/redis.sock?db=0&timeout_s=1", "timeout_s"),
        (f"redis://cache:6379/0?password={SECRET}&bogus=1", "bogus"),
    ],
    ids=[
        "scheme",
        "unknown-option",
        "bad-db",
        "bad-cert-reqs",
        "missing-ca",
        "missing-certfile",
        "bad-port",
        "empty-host",
        "cluster-db",
        "unix-unknown-option",
        "password-in-query",
    ],
)
def test_an_invalid_url_fails_at_construction_without_the_password(url: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match="RedisBackend") as raised:
        RedisBackend(url)
    message = str(raised.value)
    assert named in message
    assert SECRET not in message
    assert "***" in message


@pytest.mark.parametrize(
    ("url", "redacted", "server"),
    [
        ("redis://app:pw@cache:6380/0", "redis://app:***@cache:6380/0", "cache:6380"),
        ("redis://:pw@cache", "redis://:***@cache", "cache"),
        ("redis://cache:6379/0", "redis://cache:6379/0", "cache:6379"),
        ("redis+cluster://u:pw@h1:1,h2:2/0", "redis+cluster://u:***@h1:1,h2:2/0", "h1:1,h2:2"),
        ("redis://cache/0?password=pw&db=1", "redis://cache/0?password=***&db=1", "cache"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock", "/run/redis.sock"),
    ],
)
def test_redact_and_where(url: str, redacted: str, server: str) -> None:
    assert redact(url) == redacted
    assert where(url) == server


@pytest.mark.redis
@pytest.mark.parametrize("dead_first", [False, True], ids=["all-seeds", "first-seed-dead"])
async def test_a_cluster_url_with_several_seeds_reaches_the_cluster(
    redis_cluster: Cluster, unused_port: int, dead_first: bool
) -> None:
    seeds = [f"{node.host}:{node.port}" for node in redis_cluster.nodes]
    if dead_first:
        seeds.insert(0, f"127.0.0.1:{unused_port}")  # nothing listens there: the next seed is tried
    backend = RedisBackend(f"redis+cluster://{','.join(seeds)}", namespace=unique_namespace("urls"))
    try:
        await backend.initialize()
        decisions = [await backend.hit(f"k{index}", DEFAULTS["gcra"], Rate.parse("1/min")) for index in range(6)]
        assert all(decision.allowed for decision in decisions)
        await backend.clear()
    finally:
        await backend.close()
