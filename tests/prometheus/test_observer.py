"""PrometheusObserver: what a real registry scrape shows after real throttle decisions."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import BreakerEvent, DecisionEvent, FailoverEvent, Outcome, add_observer
from traffik.exceptions import ConfigurationError
from traffik.prometheus import DEFAULT_LATENCY_BUCKETS, PrometheusObserver

from tests._metrics_helpers import FailingBackend, decide_in_threads
from tests._metrics_helpers import hits as _hits
from tests.prometheus.conftest import scrape


async def test_decisions_are_counted_by_throttle_and_outcome(registry: CollectorRegistry) -> None:
    add_observer(PrometheusObserver(registry))
    backend = InMemoryBackend(clock=ManualClock())
    api = HTTPThrottle("prom:api", rate="5/hour", backend=backend)
    login = HTTPThrottle("prom:login", rate="2/hour", backend=backend)
    assert await _hits(api, 8) == 3
    assert await _hits(login, 3) == 1
    samples = scrape(registry)
    decisions = {labels: value for (name, labels), value in samples.items() if name == "traffik_decisions_total"}
    assert decisions == {
        (("outcome", "allowed"), ("throttle", "prom:api")): 5.0,
        (("outcome", "throttled"), ("throttle", "prom:api")): 3.0,
        (("outcome", "allowed"), ("throttle", "prom:login")): 2.0,
        (("outcome", "throttled"), ("throttle", "prom:login")): 1.0,
    }


async def test_near_limit_counts_decisions_at_or_above_the_ratio(registry: CollectorRegistry) -> None:
    add_observer(PrometheusObserver(registry))
    throttle = HTTPThrottle(
        "prom:near", rate="10/hour", backend=InMemoryBackend(clock=ManualClock()), near_limit_ratio=0.8
    )
    await _hits(throttle, 12)
    # Hits 8, 9 and 10 use at least 80% of the limit; 11 and 12 are throttled (always near).
    assert scrape(registry)[("traffik_near_limit_total", (("throttle", "prom:near"),))] == 5.0


async def test_shadow_throttled_decisions_have_their_own_outcome(registry: CollectorRegistry) -> None:
    add_observer(PrometheusObserver(registry))
    throttle = HTTPThrottle("prom:shadow", rate="2/hour", backend=InMemoryBackend(clock=ManualClock()), shadow=True)
    assert await _hits(throttle, 5) == 0  # shadow mode: every request passes
    samples = scrape(registry)
    assert samples[("traffik_decisions_total", (("outcome", "shadow-throttled"), ("throttle", "prom:shadow")))] == 3.0
    assert samples[("traffik_decisions_total", (("outcome", "allowed"), ("throttle", "prom:shadow")))] == 2.0


@pytest.mark.parametrize(
    ("on_error", "outcome_passes"), [("allow", True), ("throttle", False)], ids=["allow", "throttle"]
)
async def test_backend_errors_are_counted_by_backend_and_policy(
    registry: CollectorRegistry, on_error: str, outcome_passes: bool
) -> None:
    add_observer(PrometheusObserver(registry))
    throttle = HTTPThrottle("prom:down", rate="5/hour", backend=FailingBackend(), on_error=on_error)  # type: ignore[arg-type]  # a literal policy
    assert await _hits(throttle, 3) == (0 if outcome_passes else 3)
    samples = scrape(registry)
    assert samples[("traffik_backend_errors_total", (("backend", "inmemory"), ("policy", on_error)))] == 3.0
    assert samples[("traffik_decisions_total", (("outcome", "error"), ("throttle", "prom:down")))] == 3.0


async def test_backend_latency_is_a_histogram_of_every_backend_call(registry: CollectorRegistry) -> None:
    add_observer(PrometheusObserver(registry))
    throttle = HTTPThrottle("prom:latency", rate="3/hour", backend=InMemoryBackend(clock=ManualClock()))
    await _hits(throttle, 7)
    samples = scrape(registry)
    backend = (("backend", "inmemory"),)
    assert samples[("traffik_backend_latency_seconds_count", backend)] == 7.0
    assert samples[("traffik_backend_latency_seconds_bucket", (*backend, ("le", "+Inf")))] == 7.0
    assert 0 < samples[("traffik_backend_latency_seconds_sum", backend)] < 7 * 2.5
    buckets = [
        samples[("traffik_backend_latency_seconds_bucket", (*backend, ("le", repr(b))))]
        for b in DEFAULT_LATENCY_BUCKETS
    ]
    assert buckets == sorted(buckets)  # cumulative


async def test_labels_never_carry_the_client_identity(registry: CollectorRegistry) -> None:
    add_observer(PrometheusObserver(registry))
    throttle = HTTPThrottle("prom:many", rate="1/hour", backend=InMemoryBackend(clock=ManualClock()))
    hosts = [f"198.51.100.{n}" for n in range(1, 201)]
    for host in hosts:
        await _hits(throttle, 2, host=host)
    samples = scrape(registry)
    label_values = {value for _, labels in samples for _, value in labels}
    assert not label_values & set(hosts)
    # 200 clients, one series per outcome: the label set does not grow with the clients.
    decisions = [labels for name, labels in samples if name == "traffik_decisions_total"]
    assert sorted(decisions) == [
        (("outcome", "allowed"), ("throttle", "prom:many")),
        (("outcome", "throttled"), ("throttle", "prom:many")),
    ]
    assert samples[("traffik_decisions_total", decisions[0])] == 200.0


def test_failovers_and_breaker_transitions_are_counted(registry: CollectorRegistry) -> None:
    observer = PrometheusObserver(registry)
    observer.on_failover(FailoverEvent("redis", "inmemory", "breaker open"))
    observer.on_failover(FailoverEvent("inmemory", "redis", "recovered"))
    observer.on_breaker(BreakerEvent("inmemory", "closed", "open"))
    observer.on_breaker(BreakerEvent("inmemory", "open", "half_open"))
    observer.on_breaker(BreakerEvent("inmemory", "half_open", "open"))
    samples = scrape(registry)
    assert samples[("traffik_failovers_total", (("from_backend", "redis"), ("to_backend", "inmemory")))] == 1.0
    assert samples[("traffik_failovers_total", (("from_backend", "inmemory"), ("to_backend", "redis")))] == 1.0
    assert samples[("traffik_breaker_transitions_total", (("breaker", "inmemory"), ("state", "open")))] == 2.0
    assert samples[("traffik_breaker_transitions_total", (("breaker", "inmemory"), ("state", "half_open")))] == 1.0


async def test_prefix_and_close(registry: CollectorRegistry) -> None:
    observer = PrometheusObserver(registry, prefix="edge")
    add_observer(observer)
    await _hits(HTTPThrottle("prom:prefix", rate="5/hour", backend=InMemoryBackend(clock=ManualClock())), 1)
    assert ("edge_decisions_total", (("outcome", "allowed"), ("throttle", "prom:prefix"))) in scrape(registry)
    observer.close()
    assert scrape(registry) == {}
    PrometheusObserver(registry, prefix="edge")  # the names are free again


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"registry": "REGISTRY"}, "registry must be a prometheus_client CollectorRegistry, got 'REGISTRY'"),
        ({"prefix": "traffik-metrics"}, "prefix must be a metric name prefix such as 'traffik', got 'traffik-metrics'"),
        ({"latency_buckets": []}, "latency_buckets must be a non-empty sequence of increasing finite numbers"),
        ({"latency_buckets": [0.1, 0.05]}, "latency_buckets must be .*, got [0.1, 0.05]"),
        ({"latency_buckets": [0, 1]}, "latency_buckets must be .*, got [0, 1]"),
        ({"latency_buckets": [1, float("inf")]}, "latency_buckets must be .*, got [1, inf]"),
    ],
    ids=["registry", "prefix", "empty-buckets", "decreasing", "zero", "infinite"],
)
def test_invalid_configuration_names_the_parameter(kwargs: dict[str, object], message: str) -> None:
    pattern = "^PrometheusObserver: " + ".*".join(re.escape(part) for part in message.split(".*"))
    with pytest.raises(ConfigurationError, match=pattern):
        PrometheusObserver(**kwargs)  # type: ignore[arg-type]  # the errors under test


def test_two_observers_on_one_registry_and_prefix_are_refused(registry: CollectorRegistry) -> None:
    PrometheusObserver(registry)
    with pytest.raises(
        ConfigurationError, match=r"PrometheusObserver: registry must be a registry without traffik_\* metrics"
    ):
        PrometheusObserver(registry)


def test_decisions_from_many_threads_are_all_counted(registry: CollectorRegistry) -> None:
    # Counts are kept without a lock, in one cell per thread (each cell has one writer),
    # summed when read: every decision of every thread counts, thread switches forced often.
    observer = PrometheusObserver(registry)
    event = DecisionEvent(
        "prom:threads", "fixed-window", "inmemory", Outcome.ALLOWED, 1, 5.0, 10, 0.0, 0.001, True, False
    )
    decide_in_threads(observer, event, threads=4, each=20_000)
    samples = scrape(registry)
    assert samples[("traffik_decisions_total", (("outcome", "allowed"), ("throttle", "prom:threads")))] == 80_000
    assert samples[("traffik_near_limit_total", (("throttle", "prom:threads"),))] == 80_000
    assert samples[("traffik_backend_latency_seconds_count", (("backend", "inmemory"),))] == 80_000
