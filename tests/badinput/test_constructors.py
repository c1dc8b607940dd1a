"""Every public constructor rejects an invalid value with a ConfigurationError that names the parameter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from traffik import HTTPThrottle, WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.error_handlers import CircuitBreaker, failover, retry
from traffik.exceptions import ConfigurationError
from traffik.identifiers import TrustedProxies
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.strategies import GCRA, TokenBucket, TokenBucketWithDebt
from traffik.throttles import MiddlewareThrottle


def http_throttle(**options: Any) -> HTTPThrottle:
    settings: dict[str, Any] = {
        "uid": "ctor",
        "rate": "5/s",
        "backend": InMemoryBackend(),
        "registry": ThrottleRegistry(),
    }
    return HTTPThrottle(**(settings | options))


def websocket_throttle(**options: Any) -> WebSocketThrottle:
    settings: dict[str, Any] = {
        "uid": "ctor",
        "rate": "5/s",
        "backend": InMemoryBackend(),
        "registry": ThrottleRegistry(),
    }
    return WebSocketThrottle(**(settings | options))


def memcached(**options: Any) -> MemcachedBackend:
    return MemcachedBackend(**({"servers": [("127.0.0.1", 11211)]} | options))


def redis(**options: Any) -> RedisBackend:
    return RedisBackend(**({"url": "redis://127.0.0.1:6379/0"} | options))


def trusted_proxies(**options: Any) -> TrustedProxies:
    return TrustedProxies(**({"trusted_proxies": ["10.0.0.0/8"]} | options))


BAD: list[tuple[str, Callable[..., Any], str, object]] = [
    # (case id, factory, parameter, invalid value)
    ("throttle-uid-empty", http_throttle, "uid", ""),
    ("throttle-uid-type", http_throttle, "uid", 5),
    ("throttle-rate-string", http_throttle, "rate", "5 per fortnight"),
    ("throttle-rate-type", http_throttle, "rate", 5),
    ("throttle-cost-negative", http_throttle, "cost", -1),
    ("throttle-cost-float", http_throttle, "cost", 1.5),
    ("throttle-cost-str", http_throttle, "cost", "1"),
    ("throttle-cost-bool", http_throttle, "cost", True),
    ("throttle-backend", http_throttle, "backend", "redis://localhost"),
    ("throttle-identifier", http_throttle, "identifier", "client.host"),
    ("throttle-strategy", http_throttle, "strategy", "token-bucket"),
    ("throttle-handler", http_throttle, "handle_throttled", 429),
    ("throttle-on-error", http_throttle, "on_error", "ignore"),
    ("throttle-registry", http_throttle, "registry", {}),
    ("throttle-rules", http_throttle, "rules", [object()]),
    ("throttle-context", http_throttle, "context", [("a", 1)]),
    ("throttle-min-wait-negative", http_throttle, "min_wait_period", -5),
    ("throttle-min-wait-type", http_throttle, "min_wait_period", "5"),
    ("throttle-use-method", http_throttle, "use_method", "no"),
    ("throttle-dynamic-backend", http_throttle, "dynamic_backend", 1),
    ("websocket-rate", websocket_throttle, "rate", "-1/s"),
    ("websocket-cost", websocket_throttle, "cost", -2),
    ("inmemory-namespace", InMemoryBackend, "namespace", ""),
    ("inmemory-persistent", InMemoryBackend, "persistent", "yes"),
    ("inmemory-on-error", InMemoryBackend, "on_error", "fail"),
    ("inmemory-shards-zero", InMemoryBackend, "number_of_shards", 0),
    ("inmemory-shards-type", InMemoryBackend, "number_of_shards", 2.5),
    ("inmemory-cleanup", InMemoryBackend, "cleanup_frequency", -1),
    ("inmemory-lock-kind", InMemoryBackend, "lock_kind", "fifo"),
    ("inmemory-lock-ttl", InMemoryBackend, "lock_ttl", -1),
    ("inmemory-lock-timeout", InMemoryBackend, "lock_blocking_timeout", "1"),
    ("inmemory-lock-blocking", InMemoryBackend, "lock_blocking", "true"),
    ("inmemory-clock", InMemoryBackend, "clock", 1.0),
    ("redis-url", redis, "url", 6379),
    ("redis-namespace", redis, "namespace", ""),
    ("redis-on-error", redis, "on_error", "drop"),
    ("redis-socket-timeout", redis, "socket_timeout", -1),
    ("redis-connect-timeout", redis, "connect_timeout", "1"),
    ("redis-cluster", redis, "cluster", "yes"),
    ("memcached-servers-empty", memcached, "servers", []),
    ("memcached-servers-port", memcached, "servers", [("127.0.0.1", 99999)]),
    ("memcached-servers-shape", memcached, "servers", ["127.0.0.1:11211"]),
    ("memcached-namespace", memcached, "namespace", ""),
    ("memcached-timeout", memcached, "timeout", 0),
    ("memcached-pool", memcached, "pool_size", 0),
    ("memcached-retries", memcached, "max_retries", -1),
    ("memcached-on-error", memcached, "on_error", 3),
    ("rate-limit", Rate, "limit", -1),
    ("rate-seconds", Rate, "seconds", -5),
    ("rate-limit-type", Rate, "limit", "5"),
    ("token-bucket-burst", TokenBucket, "burst_size", 0),
    ("token-bucket-debt", TokenBucketWithDebt, "max_debt", -1),
    ("gcra-tolerance", GCRA, "burst_tolerance_ms", -1),
    ("trusted-proxies", TrustedProxies, "trusted_proxies", ["not-an-address"]),
    ("trusted-proxies-header", trusted_proxies, "header", "auto"),
    ("breaker-threshold", CircuitBreaker, "failure_threshold", 0),
    ("breaker-recovery", CircuitBreaker, "recovery_timeout", 0),
    ("retry-max", retry, "max_retries", -1),
    ("retry-backoff", retry, "backoff", "random"),
    ("failover-backend", failover, "backend", None),
    ("middleware-throttle", MiddlewareThrottle, "throttle", "api"),
]


@pytest.mark.parametrize(("factory", "parameter", "value"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_an_invalid_value_is_a_configuration_error_naming_the_parameter(
    factory: Callable[..., Any], parameter: str, value: object
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        factory(**{parameter: value})
    message = str(caught.value)
    assert parameter in message or parameter.replace("_", " ") in message, message
    # A collection may be reported by its offending element.
    shown = [value, *value] if isinstance(value, list) else [value]
    assert any(repr(v) in message or str(v) in message for v in shown), message
