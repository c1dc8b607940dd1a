"""``rediss://``: hits over TLS to a real TLS-only redis-server; a wrong CA fails at start-up, clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.exceptions import BackendConnectionError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, TokenBucket
from traffik.testing import stop_all

from tests.redis.conftest import unique_namespace
from tests.redis.tls import Certificates, TlsRedisServer, make_certificates

pytestmark = pytest.mark.redis

RATE = Rate.parse("2/min")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(certificates: Certificates) -> Iterator[TlsRedisServer]:
    server = TlsRedisServer(certificates)
    server.start()
    yield server
    stop_all([server])


@pytest.fixture(scope="module")
def mutual_tls_server(certificates: Certificates) -> Iterator[TlsRedisServer]:
    server = TlsRedisServer(certificates, require_client_certificates=True)
    server.start()
    yield server
    stop_all([server])


async def _three_hits(backend: RedisBackend) -> list[bool]:
    try:
        await backend.initialize()
        return [(await backend.hit("client", FixedWindow(), RATE)).allowed for _ in range(3)]
    finally:
        await backend.clear()
        await backend.close()


async def test_hits_go_through_a_rediss_url_with_the_ca(tls_server: TlsRedisServer) -> None:
    backend = RedisBackend(tls_server.ca_url, namespace=unique_namespace("tls"))
    assert await _three_hits(backend) == [True, True, False]


async def test_the_hostname_is_checked_when_asked(tls_server: TlsRedisServer) -> None:
    url = f"{tls_server.ca_url}&ssl_check_hostname=true"  # the certificate names 127.0.0.1
    assert await _three_hits(RedisBackend(url, namespace=unique_namespace("tls"))) == [True, True, False]


async def test_mutual_tls_with_a_client_certificate(mutual_tls_server: TlsRedisServer) -> None:
    backend = RedisBackend(mutual_tls_server.ca_url, namespace=unique_namespace("tls"))
    assert await _three_hits(backend) == [True, True, False]


async def test_a_wrong_ca_fails_at_start_up_naming_the_host(
    tls_server: TlsRedisServer, certificates: Certificates
) -> None:
    url = f"rediss://:topsecret@{tls_server.host}:{tls_server.port}/0?ssl_ca_certs={certificates.other_ca}"
    # Not a dead server: tolerating one (require_startup_connection=False) does not hide it.
    backend = RedisBackend(url, namespace=unique_namespace("tls"), require_startup_connection=False)
    try:
        with pytest.raises(ConfigurationError, match="TLS handshake") as raised:
            await backend.initialize()
        message = str(raised.value)
        assert f"{tls_server.host}:{tls_server.port}" in message
        assert "certificate verify failed" in message
        assert "topsecret" not in message
    finally:
        await backend.close()


async def test_a_missing_client_certificate_fails_at_start_up(mutual_tls_server: TlsRedisServer) -> None:
    url = f"{mutual_tls_server.url}/0?ssl_ca_certs={mutual_tls_server.certificates.ca}"
    backend = RedisBackend(url, namespace=unique_namespace("tls"))
    try:
        # TLS 1.3 servers reject the missing certificate after the client's side of the
        # handshake is done: the client sees the alert, or the closed connection, on its first read.
        with pytest.raises((ConfigurationError, BackendConnectionError), match=str(mutual_tls_server.port)):
            await backend.initialize()
    finally:
        await backend.close()


async def test_cert_reqs_none_skips_verification_when_the_app_says_so(
    tls_server: TlsRedisServer, certificates: Certificates
) -> None:
    url = f"{tls_server.url}/0?ssl_ca_certs={certificates.other_ca}&ssl_cert_reqs=none"
    assert await _three_hits(RedisBackend(url, namespace=unique_namespace("tls"))) == [True, True, False]


async def test_a_tls_client_passed_in_is_used_with_its_own_options(
    tls_server: TlsRedisServer, certificates: Certificates
) -> None:
    client = Redis(host=tls_server.host, port=tls_server.port, ssl=True, ssl_ca_certs=str(certificates.ca))
    backend = RedisBackend(client, namespace=unique_namespace("tls"))
    try:
        await backend.initialize()
        assert (await backend.hit("client", TokenBucket(), RATE)).allowed
        await backend.clear()
        await backend.close()
        assert await client.ping()  # the application's client stays open
    finally:
        await client.aclose()


def test_a_missing_ca_file_fails_at_construction(tls_server: TlsRedisServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ssl_ca_certs"):
        RedisBackend(f"{tls_server.url}/0?ssl_ca_certs={tmp_path / 'nope.pem'}")
