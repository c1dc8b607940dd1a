"""Memcached key building and expiry times (pure functions, no server)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from traffik.backends.memcached._keys import (
    MAX_KEY_BYTES,
    RELATIVE_EXPIRY_LIMIT_S,
    expiry_seconds,
    generation_key,
    is_storable,
    state_key,
)
from traffik.clock import wall_ms

NASTY = ["x" * 10_000, "line\nbreak", "nul\x00byte", "unicodé-ключ-鍵", "a:b", "a*b", "a b", "", "\ud800", "tab\t"]


def valid_memcached_key(key: str) -> bool:
    raw = key.encode("utf-8")
    return 0 < len(raw) <= MAX_KEY_BYTES and all(0x21 <= byte <= 0x7E for byte in raw)


def test_is_storable_accepts_only_what_memcached_accepts() -> None:
    assert is_storable("api:v1:203.0.113.7:GET:/items")
    assert is_storable("x" * MAX_KEY_BYTES)
    assert not is_storable("x" * (MAX_KEY_BYTES + 1))
    for bad in ["", "a b", "a\nb", "a\x00b", "a\x7fb", "é", "a\tb", "a\rb"]:
        assert not is_storable(bad), bad


def test_nasty_identifiers_give_valid_distinct_deterministic_keys() -> None:
    keys = [state_key("ns", 3, "fixed-window", identifier) for identifier in NASTY]
    assert all(valid_memcached_key(key) for key in keys)
    assert len(set(keys)) == len(NASTY)
    assert keys == [state_key("ns", 3, "fixed-window", identifier) for identifier in NASTY]


def test_storable_identifiers_are_kept_readable() -> None:
    assert state_key("api", 12, "gcra", "client-1") == "trf:k12:api:gcra:client-1"


def test_escaping_keeps_component_boundaries() -> None:
    assert state_key("ns", 1, "s", "a:b", "c") != state_key("ns", 1, "s", "a", "b:c")
    assert state_key("a:b", 1, "s", "c") != state_key("a", 1, "b:s", "c")


def test_generation_is_part_of_every_key() -> None:
    assert state_key("ns", 1, "s", "k") != state_key("ns", 2, "s", "k")
    assert state_key("ns", 1, "s", "x" * 300) != state_key("ns", 2, "s", "x" * 300)


def test_generation_key_is_valid_for_any_namespace_and_never_a_state_key() -> None:
    for namespace in ["api", "with space", "x" * 400, "é"]:
        key = generation_key(namespace)
        assert valid_memcached_key(key)
        assert not key.startswith(("trf:k", "trf:h"))
    assert generation_key("a") != generation_key("b")


@given(st.text(), st.text())
def test_distinct_identifiers_never_share_a_key(first: str, second: str) -> None:
    one, two = state_key("ns", 5, "s", first), state_key("ns", 5, "s", second)
    assert valid_memcached_key(one)
    assert valid_memcached_key(two)
    assert (one == two) == (first == second)


def test_expiry_rounds_up_with_a_spare_second_and_is_never_zero() -> None:
    assert expiry_seconds(0) == 2
    assert expiry_seconds(0.5) == 2
    assert expiry_seconds(1_000) == 2
    assert expiry_seconds(1_001) == 3
    assert expiry_seconds(60_000) == 61


def test_expiry_beyond_thirty_days_is_an_absolute_unix_time() -> None:
    ttl_ms = (RELATIVE_EXPIRY_LIMIT_S + 10) * 1000
    expiry = expiry_seconds(ttl_ms)
    now_s = wall_ms() / 1000
    assert math.isclose(expiry - now_s, RELATIVE_EXPIRY_LIMIT_S + 11, abs_tol=2)
    assert expiry_seconds((RELATIVE_EXPIRY_LIMIT_S - 1) * 1000) == RELATIVE_EXPIRY_LIMIT_S
