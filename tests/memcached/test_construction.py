"""Construction, URLs, plugin registration and lazy import of the Memcached backend."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from traffik.backends import backend_from_url
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import wall_ms
from traffik.exceptions import ConfigurationError
from traffik.plugins import get_plugin_registry
from traffik.strategies import FixedWindow


def test_reference_defaults() -> None:
    backend = MemcachedBackend([("127.0.0.1", 11211)])
    assert backend.servers == (("127.0.0.1", 11211),)
    assert backend.namespace == "memcached"
    assert backend.persistent is False
    assert backend.on_error == "throttle"
    assert backend.clock is wall_ms
    assert backend.timeout == 0.5
    assert backend.connect_timeout == 0.5


def test_reference_parameters_by_keyword() -> None:
    backend = MemcachedBackend(servers=[("a", 1), ("b", 2)], namespace="api", persistent=True, on_error="allow")
    assert (backend.servers, backend.namespace, backend.persistent, backend.on_error) == (
        (("a", 1), ("b", 2)),
        "api",
        True,
        "allow",
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"servers": []}, "servers"),
        ({"servers": "127.0.0.1:11211"}, "servers"),
        ({"servers": [("127.0.0.1",)]}, "servers"),
        ({"servers": [("", 11211)]}, "servers"),
        ({"servers": [("h", 0)]}, "servers"),
        ({"servers": [("h", "11211")]}, "servers"),
        ({"servers": [("h", 1), ("h", 1)]}, "servers"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"pool_size": 0}, "pool_size"),
        ({"pool_size": True}, "pool_size"),
        ({"max_retries": -1}, "max_retries"),
        ({"virtual_nodes": 0}, "virtual_nodes"),
        ({"generation_refresh": 0}, "generation_refresh"),
        ({"namespace": ""}, "namespace"),
        ({"persistent": "yes"}, "persistent"),
        ({"on_error": "ignore"}, "on_error"),
    ],
)
def test_invalid_configuration_names_the_parameter_and_value(options: dict[str, Any], named: str) -> None:
    options.setdefault("servers", [("127.0.0.1", 11211)])
    with pytest.raises(ConfigurationError, match=named) as caught:
        MemcachedBackend(**options)
    bad = options[named]
    assert repr(bad) in str(caught.value) or str(bad) in str(caught.value)


def test_from_url_with_several_servers_and_default_port() -> None:
    backend = MemcachedBackend.from_url("memcached://10.0.0.1:11212,10.0.0.2,[::1]:11213/?namespace=api")
    assert backend.servers == (("10.0.0.1", 11212), ("10.0.0.2", 11211), ("::1", 11213))
    assert backend.namespace == "api"


def test_from_url_options() -> None:
    backend = MemcachedBackend.from_url("memcached://h:1?persistent=true", timeout=0.2)
    assert backend.persistent is True
    assert backend.timeout == 0.2


@pytest.mark.parametrize(
    "url",
    [
        "redis://h:1",
        "memcached://",
        "memcached://h:1/path",
        "memcached://h:notaport",
        "memcached://h:1?colour=red",
        "memcached://h:1?persistent=maybe",
        "memcached://h:1,,h:2",
        "memcached://user@h:1",
    ],
)
def test_from_url_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        MemcachedBackend.from_url(url)


def test_from_url_rejects_a_namespace_given_twice() -> None:
    with pytest.raises(ConfigurationError, match="namespace given twice"):
        MemcachedBackend.from_url("memcached://h:1?namespace=a", namespace="b")


def test_registered_under_its_name_and_url_scheme() -> None:
    registry = get_plugin_registry()
    assert registry.backend_class("memcached") is MemcachedBackend
    backend = backend_from_url("memcached://127.0.0.1:11211,127.0.0.1:11212")
    assert isinstance(backend, MemcachedBackend)
    assert backend.servers == (("127.0.0.1", 11211), ("127.0.0.1", 11212))


def test_fixed_window_has_a_native_implementation() -> None:
    runner = get_plugin_registry().strategy_implementation("memcached", "fixed-window")
    assert getattr(runner, "strategy_class", None) is FixedWindow


def test_a_subclass_of_fixed_window_is_not_run_natively() -> None:
    class Tweaked(FixedWindow):
        pass

    backend = MemcachedBackend([("127.0.0.1", 11211)])
    assert backend._runner(FixedWindow()).strategy_class is FixedWindow
    assert backend._runner(Tweaked()).strategy_class is None


def test_importing_the_package_and_entry_module_does_not_import_aiomcache() -> None:
    code = (
        "import sys, traffik.backends.memcached, traffik.backends.memcached._plugin;"
        "from traffik.plugins import get_plugin_registry;"
        "get_plugin_registry().backends();"
        "print('aiomcache' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_repr_names_servers_and_namespace() -> None:
    backend = MemcachedBackend([("a", 1), ("b", 2)], namespace="api")
    assert repr(backend) == "MemcachedBackend(servers='a:1,b:2', namespace='api', persistent=False)"
