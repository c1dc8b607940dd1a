"""The Prometheus observer: decision events counted in memory, exposed by a collector at scrape time.

A decision costs one dict lookup and a few increments on a cell of counts
owned by the calling thread (so no lock: a cell has one writer); the metric
families are built, summing the cells, only when the registry is scraped.
prometheus_client's own ``Counter`` and ``Histogram`` cost about three times as
much per hit (a lock per child, a linear walk of the buckets), which the hit
path of a rate limiter should not pay.

Every label value comes from a bounded set: throttle uids (chosen by the
application), outcomes, backend and breaker names, error policies. A client's
identity never reaches an event, so it can never become a label.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from threading import get_ident
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from traffik.events import BackendErrorEvent, BreakerEvent, DecisionEvent, FailoverEvent, Observer, Outcome
from traffik.validation import instance_of, invalid

__all__ = ["DEFAULT_LATENCY_BUCKETS", "PrometheusObserver"]

DEFAULT_LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
"""Upper bounds (seconds) of the backend latency histogram: 100 µs (in memory) to 2.5 s (a timeout)."""

_OWNER: Final = "PrometheusObserver"
_PREFIX: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_REGISTRY: Final = instance_of(CollectorRegistry, description="a prometheus_client CollectorRegistry")


def _check_buckets(buckets: object) -> tuple[float, ...]:
    description = "a non-empty sequence of increasing finite numbers of seconds > 0"
    if not isinstance(buckets, Sequence) or isinstance(buckets, str) or not buckets:
        raise invalid(_OWNER, "latency_buckets", description, buckets)
    values: list[float] = []
    for bound in buckets:
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound) or bound <= 0:
            raise invalid(_OWNER, "latency_buckets", description, buckets)
        if values and bound <= values[-1]:
            raise invalid(_OWNER, "latency_buckets", description, buckets)
        values.append(float(bound))
    return tuple(values)


class _Cell:
    """The counts of one (throttle, outcome, backend), written by one thread only.

    ``latency``: a count per histogram bucket (the last one is +Inf);
    ``latency_sum``: their sum in seconds.
    """

    __slots__ = ("decisions", "latency", "latency_sum", "near_limit")

    def __init__(self, buckets: int) -> None:
        self.decisions = 0
        self.near_limit = 0
        self.latency = [0] * (buckets + 1)
        self.latency_sum = 0.0


class PrometheusObserver(Observer):
    """Counts decision events and exposes them as Prometheus metrics on a registry.

    Metrics (``traffik`` is ``prefix``):

    * ``traffik_decisions_total{throttle, outcome}``: consuming hits by throttle
      uid and outcome (``allowed``, ``throttled``, ``shadow-throttled``,
      ``exempted``, ``error``);
    * ``traffik_near_limit_total{throttle}``: decisions at or above the
      near-limit ratio of the limit (throttled ones included);
    * ``traffik_backend_errors_total{backend, policy}``: failed backend calls
      by the policy applied (``allow`` is a fail-open);
    * ``traffik_backend_latency_seconds{backend}``: a histogram of backend call times;
    * ``traffik_failovers_total{from_backend, to_backend}`` and
      ``traffik_breaker_transitions_total{breaker, state}``.

    Label values come from bounded sets; the client identity is never one.
    Counts live in this process: run one observer per process and let
    Prometheus sum over instances (``sum by (throttle, outcome) (...)``).

    Args:
        registry: Where the metrics are registered (default:
            ``prometheus_client.REGISTRY``, what ``generate_latest()`` and
            :func:`~traffik.prometheus.metrics_endpoint` expose by default).
        prefix: The metric name prefix.
        latency_buckets: Upper bounds, in seconds, of the latency histogram.

    Raises:
        ConfigurationError: An invalid argument, or ``registry`` already has
            metrics of these names (another observer with the same prefix).

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> from traffik.events import add_observer, remove_observer
        >>> registry = CollectorRegistry()
        >>> observer = PrometheusObserver(registry)
        >>> add_observer(observer)  # every throttle of the process now reports to it
        >>> registry.get_sample_value("traffik_decisions_total", {"throttle": "api", "outcome": "allowed"})
        >>> remove_observer(observer)
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        prefix: str = "traffik",
        latency_buckets: Sequence[float] = DEFAULT_LATENCY_BUCKETS,
    ) -> None:
        self.registry: CollectorRegistry = REGISTRY if registry is None else _REGISTRY(_OWNER, "registry", registry)
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise invalid(_OWNER, "prefix", "a metric name prefix such as 'traffik'", prefix)
        self.prefix = prefix
        self._bounds = _check_buckets(latency_buckets)
        self._lock = threading.Lock()
        # (throttle uid, outcome, backend, thread id) -> counts: each cell has a single writer.
        self._cells: dict[tuple[str, Outcome, str, int], _Cell] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self._failovers: dict[tuple[str, str], int] = {}
        self._breakers: dict[tuple[str, str], int] = {}
        self._collector = _Collector(self)
        try:
            self.registry.register(self._collector)
        except ValueError as exc:  # prometheus_client: "Duplicated timeseries in CollectorRegistry"
            raise invalid(_OWNER, "registry", f"a registry without {prefix}_* metrics ({exc})", registry) from exc

    def close(self) -> None:
        """Remove the metrics from the registry (stop the observer first with ``remove_observer``)."""
        self.registry.unregister(self._collector)

    # -- events: called on the hit path, so a lock and a few increments only ----------

    def on_decision(self, event: DecisionEvent) -> None:
        """Count the decision, its near-limit flag and its backend latency (in this thread's cell)."""
        key = (event.throttle_uid, event.outcome, event.backend, get_ident())
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell(len(self._bounds))
        cell.decisions += 1
        if event.near_limit:
            cell.near_limit += 1
        latency = event.backend_latency
        if latency is not None:
            cell.latency[bisect_left(self._bounds, latency)] += 1
            cell.latency_sum += latency

    def on_backend_error(self, event: BackendErrorEvent) -> None:
        """Count the failure by backend and applied policy."""
        key = (event.backend, event.policy)
        with self._lock:
            self._errors[key] = self._errors.get(key, 0) + 1

    def on_failover(self, event: FailoverEvent) -> None:
        """Count the switch."""
        key = (event.from_backend, event.to_backend)
        with self._lock:
            self._failovers[key] = self._failovers.get(key, 0) + 1

    def on_breaker(self, event: BreakerEvent) -> None:
        """Count the transition by the state entered."""
        key = (event.breaker, event.new_state)
        with self._lock:
            self._breakers[key] = self._breakers.get(key, 0) + 1

    # -- scrape --------------------------------------------------------------------

    def _families(self, *, with_samples: bool) -> Iterator[Metric]:
        decisions: dict[tuple[str, str], int] = {}
        near_limit: dict[str, int] = {}
        latency: dict[str, tuple[list[int], float]] = {}
        # dict.copy() is one C call: atomic against a thread adding its cell meanwhile.
        for (uid, outcome, backend, _), cell in (self._cells.copy() if with_samples else {}).items():
            key = (uid, outcome.value)
            decisions[key] = decisions.get(key, 0) + cell.decisions
            if cell.near_limit:
                near_limit[uid] = near_limit.get(uid, 0) + cell.near_limit
            if any(cell.latency):
                counts, total = latency.get(backend, ([0] * (len(self._bounds) + 1), 0.0))
                summed = [mine + theirs for mine, theirs in zip(counts, cell.latency, strict=True)]
                latency[backend] = (summed, total + cell.latency_sum)
        with self._lock:
            errors = dict(self._errors) if with_samples else {}
            failovers = dict(self._failovers) if with_samples else {}
            breakers = dict(self._breakers) if with_samples else {}
        p = self.prefix
        yield _counter(
            f"{p}_decisions",
            "Consuming hits by throttle uid and outcome.",
            ["throttle", "outcome"],
            decisions.items(),
        )
        yield _counter(
            f"{p}_near_limit",
            "Decisions at or above the near-limit ratio of the limit, throttled ones included.",
            ["throttle"],
            (((uid,), value) for uid, value in near_limit.items()),
        )
        yield _counter(
            f"{p}_backend_errors",
            "Failed backend calls by backend and the policy applied (allow: failed open).",
            ["backend", "policy"],
            errors.items(),
        )
        histogram = HistogramMetricFamily(
            f"{p}_backend_latency_seconds", "Backend call time of each decision.", labels=["backend"]
        )
        for backend, (counts, total) in latency.items():
            cumulative, buckets = 0, []
            for bound, count in zip((*self._bounds, math.inf), counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == math.inf else repr(bound), float(cumulative)))
            histogram.add_metric([backend], buckets, sum_value=total)
        yield histogram
        yield _counter(
            f"{p}_failovers",
            "Failover switches by the backend left and the backend entered.",
            ["from_backend", "to_backend"],
            failovers.items(),
        )
        yield _counter(
            f"{p}_breaker_transitions",
            "Circuit breaker state changes by breaker and the state entered.",
            ["breaker", "state"],
            breakers.items(),
        )


def _counter(
    name: str, documentation: str, labels: list[str], samples: Iterable[tuple[tuple[str, ...], int]]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric(list(values), float(value))
    return family


class _Collector(Collector):
    """What the registry calls on a scrape (``describe`` lets it check names at registration)."""

    def __init__(self, observer: PrometheusObserver) -> None:
        self._observer = observer

    def collect(self) -> Iterable[Metric]:
        return list(self._observer._families(with_samples=True))

    def describe(self) -> Iterable[Metric]:
        return list(self._observer._families(with_samples=False))
