"""Any identifier works on real servers and gets its own quota."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.rates import Rate
from traffik.strategies import ThrottleStrategy

pytestmark = pytest.mark.memcached

IDENTIFIERS = [
    "x" * 10_000,
    "x" * 9_999 + "y",
    "line\nbreak",
    "line\r\nbreak",
    "nul\x00byte",
    "nul\x00bytf",
    "unicodé-ключ-鍵-🙂",
    "lone-\ud800-surrogate",
    "a:b",
    "a\\:b",
    "a*",
    "*",
    "with space",
    "with\ttab",
    "",
    "get x\r\nflush_all",
]


async def test_every_identifier_has_its_own_quota(backend: MemcachedBackend, strategy: ThrottleStrategy) -> None:
    rate = Rate.parse("1/min")
    first = [(await backend.hit(identifier, strategy, rate)).allowed for identifier in IDENTIFIERS]
    assert all(first)
    # Each identifier exhausted its own quota (a debt strategy may admit a little more), and only its own.
    for identifier in IDENTIFIERS:
        while (await backend.hit(identifier, strategy, rate)).allowed:
            pass
    assert (await backend.hit("untouched", strategy, rate)).allowed
    assert not any([(await backend.peek(identifier, strategy, rate)).allowed for identifier in IDENTIFIERS])


async def test_odd_namespaces_work(make_backend: Callable[..., MemcachedBackend], strategy: ThrottleStrategy) -> None:
    rate = Rate.parse("1/min")
    spaced = make_backend(namespace="name space\n" + "n" * 400)
    plain = make_backend(namespace="name space")
    assert (await spaced.hit("k", strategy, rate)).allowed
    assert (await plain.hit("k", strategy, rate)).allowed
    await spaced.clear()
    assert (await spaced.hit("k", strategy, rate)).allowed
