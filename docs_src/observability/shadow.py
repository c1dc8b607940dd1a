"""Observability: roll a new limit out in shadow mode, then enforce it (no restart)."""

from __future__ import annotations

# --8<-- [start:example]
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.events import DecisionEvent, Observer, add_observer, remove_observer
from traffik.exceptions import ConnectionThrottled

# The candidate limit runs in shadow mode: decided and counted, never enforced.
candidate = HTTPThrottle(
    "api:new-limit", rate="2/hour", backend=InMemoryBackend(), shadow=True
)


class WouldThrottle(Observer):
    def __init__(self) -> None:
        self.would_have_throttled = 0

    def on_decision(self, event: DecisionEvent) -> None:
        if event.outcome.value == "shadow-throttled":
            self.would_have_throttled += 1


async def main() -> None:
    watcher = WouldThrottle()
    add_observer(watcher)
    try:
        for _ in range(3):
            await candidate.hit(request())  # the third is over the limit, and passes
        assert watcher.would_have_throttled == 1

        # The numbers look right: enforce it, at run time.
        await candidate.update_shadow(False)
        try:
            await candidate.hit(request())
        except ConnectionThrottled:
            pass
        else:
            raise AssertionError("enforcing now")
    finally:
        remove_observer(watcher)


# --8<-- [end:example]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/items",
            "headers": [],
            "client": ("192.0.2.8", 1),
        }
    )
