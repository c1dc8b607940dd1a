"""Ten minutes of traffic on a manual clock, scraped as Prometheus would: a dashboard.

``scripts/make_operations_dashboard.py`` draws the dashboard of "Operating in
production" from :func:`run`. The throttle, the backend, the observer and the
scrapes are the real ones; only time is a manual clock, so the run (and the
picture) is the same on every machine.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import add_observer, remove_observer
from traffik.exceptions import ConnectionThrottled
from traffik.prometheus import PrometheusObserver
from traffik.strategies import TokenBucket

DURATION = 600  # seconds
SCRAPE_EVERY = 15  # seconds, Prometheus's usual scrape interval
ENFORCE_AT = 240  # the rollout: shadow mode until then, enforcing after
OUTAGE = (420, 540)  # the store is unreachable; on_error="allow" fails open


class Scrape(NamedTuple):
    """One scrape: its time and every sample, ``name{label=value,...}`` -> value."""

    second: int
    samples: dict[str, float]


class FlakyStore(InMemoryBackend):
    """The shared store, in memory here, with an outage to switch on."""

    down = False

    async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        if self.down:
            raise ConnectionError("store unreachable")
        return await super().hit(key, strategy, rate, cost)


def _scrape(registry: CollectorRegistry, second: int) -> Scrape:
    text = generate_latest(registry).decode("utf-8")
    samples = {
        sample.name
        + "{"
        + ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
        + "}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Scrape(second, samples)


def _request(client: str) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/items", "headers": []}
    return Request({**scope, "client": (client, 40_000)})


async def run() -> list[Scrape]:
    """Every scrape of the run, from second 0 to :data:`DURATION`."""
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    add_observer(observer)
    clock = ManualClock()
    store = FlakyStore(clock=clock)
    # --8<-- [start:rollout]
    api = HTTPThrottle(
        "api",
        rate="60/min",
        strategy=TokenBucket(),
        backend=store,
        shadow=True,  # roll out: count and report, never block
        on_error="allow",  # fail open if the store is unreachable
    )
    # --8<-- [end:rollout]
    pick = random.Random(7)
    quiet = [f"198.51.100.{n}" for n in range(1, 41)]  # ~12 requests/min each
    greedy = ["203.0.113.7", "203.0.113.8"]  # ~2 requests/s each: over 60/min
    scrapes = [_scrape(registry, 0)]
    try:
        for second in range(DURATION):
            if second == ENFORCE_AT:
                # --8<-- [start:enforce]
                await api.update_shadow(False)  # enforce now: no restart
                # --8<-- [end:enforce]
            store.down = OUTAGE[0] <= second < OUTAGE[1]
            clients = [c for c in quiet if pick.random() < 0.2]
            clients += [c for c in greedy for _ in range(pick.choice((1, 2, 3)))]
            for client in clients:
                with contextlib.suppress(ConnectionThrottled):  # a 429
                    await api.hit(_request(client))
            clock.advance(1_000)
            if (second + 1) % SCRAPE_EVERY == 0:
                scrapes.append(_scrape(registry, second + 1))
    finally:
        remove_observer(observer)
    return scrapes


def increase(scrapes: list[Scrape], sample: str, start: int, end: int) -> float:
    """How much counter ``sample`` grew from second ``start`` to ``end``."""
    by_second = {scrape.second: scrape.samples.get(sample, 0.0) for scrape in scrapes}
    return by_second[end] - by_second[start]


async def main() -> None:
    scrapes = await run()
    assert len(scrapes) == DURATION // SCRAPE_EVERY + 1

    def grew(outcome: str, start: int, end: int) -> float:
        name = f"traffik_decisions_total{{outcome={outcome},throttle=api}}"
        return increase(scrapes, name, start, end)

    # Shadow mode: the greedy clients are over the limit, nobody gets a 429.
    assert grew("shadow-throttled", 0, ENFORCE_AT) > 0
    assert grew("throttled", 0, ENFORCE_AT) == 0
    # Enforcing: the same excess is now throttled.
    assert grew("throttled", ENFORCE_AT, OUTAGE[0]) > 0
    assert grew("shadow-throttled", ENFORCE_AT, DURATION) == 0
    # The outage: every hit failed open, and was counted as such.
    errors = "traffik_backend_errors_total{backend=inmemory,policy=allow}"
    assert (
        increase(scrapes, errors, OUTAGE[0], OUTAGE[1])
        == grew("error", 0, DURATION)
        > 0
    )
    assert increase(scrapes, errors, 0, OUTAGE[0]) == 0
