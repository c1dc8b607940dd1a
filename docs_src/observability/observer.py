"""Observability: an observer that counts decisions by throttle and outcome."""

from __future__ import annotations

import contextlib

# --8<-- [start:example]
from collections import Counter

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.events import (
    DecisionEvent,
    Observer,
    Outcome,
    add_observer,
    remove_observer,
)
from traffik.exceptions import ConnectionThrottled


class DecisionCounter(Observer):
    """Counts decisions by (throttle, outcome): bounded labels, never the client."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.near_limit = 0

    def on_decision(self, event: DecisionEvent) -> None:
        self.counts[event.throttle_uid, event.outcome.value] += 1
        if event.near_limit:
            self.near_limit += 1


counter = DecisionCounter()
throttle = HTTPThrottle("api:search", rate="5/hour", backend=InMemoryBackend())


async def main() -> None:
    add_observer(counter)  # every throttle of the process reports to it
    try:
        for _ in range(6):
            with contextlib.suppress(ConnectionThrottled):
                await throttle.hit(request())
    finally:
        remove_observer(counter)
    assert counter.counts == {
        ("api:search", "allowed"): 5,
        ("api:search", "throttled"): 1,
    }
    assert (
        counter.near_limit == 3
    )  # the 4th and 5th hits used 80% or more of the limit, the 6th was over it
    assert Outcome.THROTTLED.value == "throttled"


# --8<-- [end:example]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/search",
            "headers": [],
            "client": ("192.0.2.7", 1),
        }
    )
