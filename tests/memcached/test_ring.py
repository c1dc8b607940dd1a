"""Consistent hashing of keys over servers."""

from __future__ import annotations

import collections

import pytest
from traffik.backends.memcached._ring import HashRing

KEYS = [f"trf:k1:api:fixed-window:client-{i}".encode() for i in range(20_000)]


def ring_of(names: list[str]) -> HashRing[str]:
    return HashRing([(name, name) for name in names])


def test_adding_a_fourth_server_moves_about_a_quarter_of_the_keys_and_only_to_it() -> None:
    three = ring_of(["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"])
    four = ring_of(["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"])
    moved = [key for key in KEYS if three.node_for(key) != four.node_for(key)]
    assert 0.18 < len(moved) / len(KEYS) < 0.32
    assert {four.node_for(key) for key in moved} == {"10.0.0.4:11211"}


def test_removing_a_server_moves_only_its_keys() -> None:
    three = ring_of(["a:1", "b:1", "c:1"])
    two = ring_of(["a:1", "b:1"])
    for key in KEYS[:5_000]:
        if three.node_for(key) != "c:1":
            assert two.node_for(key) == three.node_for(key)


def test_keys_spread_evenly() -> None:
    ring = ring_of(["a:1", "b:1", "c:1", "d:1"])
    counts = collections.Counter(ring.node_for(key) for key in KEYS)
    assert set(counts) == {"a:1", "b:1", "c:1", "d:1"}
    assert all(0.18 < count / len(KEYS) < 0.32 for count in counts.values())


def test_mapping_does_not_depend_on_server_order() -> None:
    forward, backward = ring_of(["a:1", "b:1", "c:1"]), ring_of(["c:1", "b:1", "a:1"])
    assert all(forward.node_for(key) == backward.node_for(key) for key in KEYS[:2_000])


def test_one_server_owns_everything() -> None:
    ring = ring_of(["only:1"])
    assert {ring.node_for(key) for key in KEYS[:100]} == {"only:1"}


def test_invalid_rings_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        HashRing([])
    with pytest.raises(ValueError, match="virtual_nodes"):
        HashRing([("a", "a")], virtual_nodes=0)
