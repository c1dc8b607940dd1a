"""The in-process HTTP scenario's measurement: short paired rounds in shuffled orders, one URL for every variant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from traffik.backends.inmemory import InMemoryBackend

from benchmarks._app import create_app
from benchmarks._http import (
    MODES,
    ROUND_REQUESTS,
    SERVED_AT,
    _lost_share,
    _paired_rounds,
    _share_quartiles,
)
from benchmarks._timing import Sample


def _recording(name: str, calls: list[tuple[str, int]], seconds: float) -> Callable[[int], Awaitable[float]]:
    async def run(n: int) -> float:
        calls.append((name, n))
        return seconds * n

    return run


async def test_rounds_send_to_every_variant_in_shuffled_reproducible_orders() -> None:
    names = ("fast", "plain", "noop", "direct")
    timed_orders = []
    for _ in range(2):
        calls: list[tuple[str, int]] = []
        variants = [(name, _recording(name, calls, 0.001)) for name in names]
        samples = await _paired_rounds(variants, requests=100, repeats=2)
        warm_up, timed = calls[:4], calls[4:]
        assert [name for name, _ in warm_up] == list(names)
        assert {n for _, n in calls} == {ROUND_REQUESTS}
        rounds = [tuple(name for name, _ in timed[start : start + 4]) for start in range(0, len(timed), 4)]
        assert len(rounds) == 2 * 100 // ROUND_REQUESTS
        assert all(sorted(order) == sorted(names) for order in rounds)  # every variant once per round
        assert len(set(rounds)) > 1  # not one fixed order
        assert all(len(sample.runs_us) == len(rounds) for sample in samples)
        assert samples[0].runs_us[0] == pytest.approx(1000.0)  # µs per request
        timed_orders.append(rounds)
    assert timed_orders[0] == timed_orders[1]  # seeded: the same sequence of orders every run


def test_shares_are_the_median_and_quartiles_of_the_rounds_pairs() -> None:
    floor = Sample("plain", [100.0, 100.0, 100.0, 100.0, 200.0])
    mode = Sample("fast", [101.0, 102.0, 104.0, 110.0, 100.0])  # the last round: the floor's burst
    assert _lost_share(mode, floor) == pytest.approx(1 - 100 / 102)
    first, third = _share_quartiles(mode, floor)
    assert first < _lost_share(mode, floor) < third


@pytest.mark.parametrize("path", ["/plain", "/noop", *MODES.values()], ids=lambda path: path.strip("/"))
async def test_every_variant_answers_at_the_one_served_path(path: str) -> None:
    backend = InMemoryBackend(cleanup_frequency=None)
    async with backend:
        transport = httpx.ASGITransport(app=create_app(backend, [path], served_at=SERVED_AT))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            assert (await client.get(SERVED_AT)).status_code == 200
            assert (await client.get(path)).status_code == 404  # its own path is not served


def test_served_at_needs_exactly_one_route() -> None:
    with pytest.raises(ValueError, match="served_at needs exactly one route"):
        create_app(InMemoryBackend(cleanup_frequency=None), None, served_at=SERVED_AT)
