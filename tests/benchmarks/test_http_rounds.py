"""The in-process HTTP scenario's measurement: short paired rounds in balanced orders, one URL for every variant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from itertools import pairwise

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
    balanced_orders,
)
from benchmarks._timing import Sample


def _recording(name: str, calls: list[tuple[str, int]], seconds: float) -> Callable[[int], Awaitable[float]]:
    async def run(n: int) -> float:
        calls.append((name, n))
        return seconds * n

    return run


async def test_rounds_run_in_balanced_orders_in_whole_blocks() -> None:
    calls: list[tuple[str, int]] = []
    names = ("fast", "plain", "noop")
    variants = [(name, _recording(name, calls, 0.001)) for name in names]
    samples = await _paired_rounds(variants, requests=40, repeats=2)
    warm_up, timed = calls[:3], calls[3:]
    assert [name for name, _ in warm_up] == ["fast", "plain", "noop"]
    assert {n for _, n in calls} == {ROUND_REQUESTS}
    block = len(balanced_orders(3))  # 6: 2 * 40 // ROUND_REQUESTS = 8 rounds, rounded up to whole blocks
    rounds = [tuple(name for name, _ in timed[start : start + 3]) for start in range(0, len(timed), 3)]
    assert len(rounds) == 2 * block
    orders = {tuple(names[index] for index in order) for order in balanced_orders(3)}
    assert set(rounds[:block]) == set(rounds[block:]) == orders  # each order once per block
    assert all(len(sample.runs_us) == len(rounds) for sample in samples)
    assert samples[0].runs_us[0] == pytest.approx(1000.0)  # µs per request


@pytest.mark.parametrize("count", [2, 3, 6, 7], ids=lambda count: f"{count}-variants")
def test_balanced_orders_put_each_variant_everywhere_and_after_each_other_equally(count: int) -> None:
    orders = balanced_orders(count)
    assert all(sorted(order) == list(range(count)) for order in orders)
    positions = Counter((variant, position) for order in orders for position, variant in enumerate(order))
    assert len(positions) == count * count
    assert len(set(positions.values())) == 1
    pairs = Counter(pair for order in orders for pair in pairwise(order))
    assert len(pairs) == count * (count - 1)
    assert len(set(pairs.values())) == 1


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
