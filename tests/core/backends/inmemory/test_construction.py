"""InMemoryBackend construction: defaults, validation of every parameter, from_url."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError


def test_signature_matches_the_reference() -> None:
    parameters = inspect.signature(InMemoryBackend).parameters
    assert [(name, p.default) for name, p in parameters.items()] == [
        ("namespace", "inmemory"),
        ("persistent", False),
        ("on_error", "throttle"),
        ("identifier", None),
        ("handle_throttled", None),
        ("number_of_shards", 3),
        ("cleanup_frequency", 10.0),
        ("lock_kind", "unfair"),
        ("lock_blocking", None),
        ("lock_ttl", None),
        ("lock_blocking_timeout", None),
        ("clock", None),
        ("max_keys", None),
        ("deny_cache", None),
    ]
    assert parameters["clock"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["max_keys"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["deny_cache"].kind is inspect.Parameter.KEYWORD_ONLY


def test_defaults() -> None:
    backend = InMemoryBackend()
    assert isinstance(backend, ThrottleBackend)
    assert backend.NAME == "inmemory"
    assert backend.URL_SCHEMES == ("memory", "inmemory")
    assert backend.namespace == "inmemory"
    assert backend.persistent is False
    assert backend.on_error == "throttle"
    assert backend.identifier is None
    assert backend.handle_throttled is None
    assert backend.number_of_shards == 3
    assert backend.cleanup_frequency == 10.0
    assert backend.lock_kind == "unfair"
    assert (backend.lock_blocking, backend.lock_ttl, backend.lock_blocking_timeout) == (None, None, None)


async def _identify(connection: object) -> str:
    return "x"


async def _on_throttled(*args: object) -> None:
    return None


def test_every_parameter_is_kept() -> None:
    clock = ManualClock()
    backend = InMemoryBackend(
        "api",
        True,
        "allow",
        _identify,
        _on_throttled,
        8,
        2.5,
        "fair",
        False,
        3,
        4,
        clock=clock,
    )
    assert backend.namespace == "api"
    assert backend.persistent is True
    assert backend.on_error == "allow"
    assert backend.identifier is _identify
    assert backend.handle_throttled is _on_throttled
    assert backend.number_of_shards == 8
    assert backend.cleanup_frequency == 2.5
    assert backend.lock_kind == "fair"
    assert (backend.lock_blocking, backend.lock_ttl, backend.lock_blocking_timeout) == (False, 3.0, 4.0)
    assert backend.clock is clock


def test_cleanup_can_be_disabled() -> None:
    assert InMemoryBackend(cleanup_frequency=None).cleanup_frequency is None


INVALID = [
    ("namespace", ""),
    ("namespace", 5),
    ("persistent", "yes"),
    ("persistent", None),
    ("on_error", "ignore"),
    ("on_error", 3),
    ("identifier", "get_remote_address"),
    ("handle_throttled", 429),
    ("number_of_shards", 0),
    ("number_of_shards", -2),
    ("number_of_shards", 2.0),
    ("number_of_shards", True),
    ("number_of_shards", "3"),
    ("cleanup_frequency", 0),
    ("cleanup_frequency", -1.0),
    ("cleanup_frequency", float("nan")),
    ("cleanup_frequency", float("inf")),
    ("cleanup_frequency", True),
    ("cleanup_frequency", "10"),
    ("lock_kind", "fifo"),
    ("lock_kind", None),
    ("lock_blocking", "no"),
    ("lock_blocking", 0),
    ("lock_ttl", -1),
    ("lock_ttl", "1"),
    ("lock_blocking_timeout", -0.1),
    ("lock_blocking_timeout", [1]),
    ("clock", 123),
]


@pytest.mark.parametrize(("name", "value"), INVALID, ids=[f"{name}={value!r}" for name, value in INVALID])
def test_invalid_parameter_names_parameter_and_value(name: str, value: object) -> None:
    kwargs: dict[str, Any] = {name: value}
    with pytest.raises(ConfigurationError) as info:
        InMemoryBackend(**kwargs)
    message = str(info.value)
    assert name in message
    assert repr(value) in message


# -- from_url -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["memory://", "inmemory://", "MEMORY://"])
def test_from_url_builds_a_default_backend(url: str) -> None:
    backend = InMemoryBackend.from_url(url)
    assert isinstance(backend, InMemoryBackend)
    assert backend.namespace == "inmemory"


def test_from_url_reads_the_namespace() -> None:
    assert InMemoryBackend.from_url("memory://?namespace=api-v2").namespace == "api-v2"


def test_from_url_passes_other_options() -> None:
    backend = InMemoryBackend.from_url("inmemory://?namespace=x", persistent=True, number_of_shards=5)
    assert (backend.namespace, backend.persistent, backend.number_of_shards) == ("x", True, 5)


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost",
        "memory:",
        "memory",
        "memory://localhost",
        "memory:///path",
        "memory://?shards=3",
        "memory://?namespace=a&namespace=b",
        "memory://?namespace",
        "memory://#frag",
        "",
    ],
)
def test_from_url_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        InMemoryBackend.from_url(url)
    assert repr(url) in str(info.value)


def test_from_url_rejects_an_empty_namespace() -> None:
    with pytest.raises(ConfigurationError, match="namespace"):
        InMemoryBackend.from_url("memory://?namespace=")


def test_from_url_rejects_a_namespace_given_twice() -> None:
    with pytest.raises(ConfigurationError, match="both"):
        InMemoryBackend.from_url("memory://?namespace=a", namespace="b")


def test_from_url_rejects_a_non_string() -> None:
    with pytest.raises(ConfigurationError, match="url must be a string"):
        InMemoryBackend.from_url(b"memory://")  # type: ignore[arg-type]  # the invalid type is the point


def test_repr_names_the_namespace() -> None:
    assert "namespace='api'" in repr(InMemoryBackend("api"))
