"""What the metrics packages' tests share (traffik-prometheus, traffik-opentelemetry).

An isolated observer list, requests, a backend that always fails, hits that
count their denials, and decisions reported from many threads at once.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.events import DecisionEvent, Observer
from traffik.events._dispatch import DISPATCH
from traffik.exceptions import ConnectionThrottled

__all__ = ["FailingBackend", "decide_in_threads", "hits", "no_observers", "request"]


@contextlib.contextmanager
def no_observers() -> Iterator[None]:
    """No observer inside, the previous ones back after (plugins' observers count as loaded)."""
    before, loaded = DISPATCH.observers, DISPATCH.plugins_loaded
    DISPATCH.observers, DISPATCH.plugins_loaded = (), True
    try:
        yield
    finally:
        DISPATCH.observers, DISPATCH.plugins_loaded = before, loaded


def request(host: str = "192.0.2.1", path: str = "/") -> Request:
    """A bare HTTP request from ``host``."""
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "client": (host, 1)})


class FailingBackend(InMemoryBackend):
    """Fault injection: every hit raises, as a dead store would."""

    async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        raise ConnectionError("backend down")


async def hits(throttle: HTTPThrottle, count: int, host: str = "192.0.2.1") -> int:
    """Hit ``count`` times; returns how many were throttled."""
    throttled = 0
    for _ in range(count):
        try:
            await throttle.hit(request(host))
        except ConnectionThrottled:
            throttled += 1
    return throttled


def decide_in_threads(observer: Observer, event: DecisionEvent, threads: int = 4, each: int = 20_000) -> None:
    """Report ``event`` to ``observer`` ``each`` times from each of ``threads`` threads, switching threads often."""

    def decide() -> None:
        for _ in range(each):
            observer.on_decision(event)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=decide) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
