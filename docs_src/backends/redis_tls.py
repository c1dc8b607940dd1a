"""Redis over TLS.

rediss:// with the CA (and, for mutual TLS, a client certificate) in the query.
"""

from __future__ import annotations

# --8<-- [start:example]
import asyncio
import os
import uuid

from traffik.backends.redis import RedisBackend
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import TokenBucket

# e.g. rediss://:password@redis.internal:6380/0?ssl_ca_certs=/etc/ssl/redis-ca.pem
#      &ssl_certfile=/etc/ssl/app.pem&ssl_keyfile=/etc/ssl/app.key   (mutual TLS)
REDIS_TLS_URL = os.environ.get(
    "REDIS_TLS_URL", "rediss://localhost:6380/0?ssl_ca_certs=/etc/ssl/redis-ca.pem"
)


async def hit_over_tls() -> list[bool]:
    backend = RedisBackend(
        REDIS_TLS_URL, namespace=f"tls-{uuid.uuid4().hex[:8]}", persistent=True
    )
    async with backend:  # start-up check: the TLS handshake happens here
        rate = Rate.parse("2/min")
        return [
            (await backend.hit("client", TokenBucket(), rate)).allowed for _ in range(3)
        ]


async def wrong_ca_fails_at_start_up() -> str:
    # The same server, verified against a CA that did not sign its certificate.
    wrong = (
        REDIS_TLS_URL.split("?")[0] + "?ssl_ca_certs=/etc/ssl/certs/ca-certificates.crt"
    )
    try:
        async with RedisBackend(wrong, namespace="tls-wrong-ca", persistent=True):
            pass
    except ConfigurationError as exc:
        return str(exc)
    raise AssertionError("a wrong CA must fail at start-up")


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    assert asyncio.run(hit_over_tls()) == [True, True, False]
    message = asyncio.run(wrong_ca_fails_at_start_up())
    assert "TLS handshake" in message
    assert "certificate verify failed" in message


# --8<-- [end:demo]
