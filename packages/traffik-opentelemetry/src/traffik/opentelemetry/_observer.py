"""The OpenTelemetry observer: decision metrics through the metrics API, and an event on the current span.

Counts are kept in memory and reported by observable counters when a reader
collects, so a decision pays for a dict lookup and an increment on a cell owned
by the calling thread (one writer: no lock), not for the SDK's synchronous
``Counter.add`` (about ten times as much). The latency histogram has
no observable form in OpenTelemetry: it is recorded per hit (``latency=False``
leaves it out). Attribute values come from bounded sets; the client identity is
never one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from threading import get_ident
from typing import Final

from traffik.events import BackendErrorEvent, BreakerEvent, DecisionEvent, FailoverEvent, Observer, Outcome
from traffik.opentelemetry.__about__ import __version__
from traffik.validation import Validator, boolean, optional

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

__all__ = ["INSTRUMENTATION_SCOPE", "OpenTelemetryObserver"]

INSTRUMENTATION_SCOPE: Final = "traffik"
"""The meter's (instrumentation scope's) name."""

_OWNER: Final = "OpenTelemetryObserver"
# MeterProvider is abstract (the SDK's is one subclass), which instance_of's type[T] does not admit.
_PROVIDER: Final = optional(Validator("an opentelemetry MeterProvider", lambda value: isinstance(value, MeterProvider)))
_LATENCY_BOUNDARIES: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


Counts = dict[tuple[str, ...], int]


def _observations(counts: Counts, names: tuple[str, ...]) -> list[Observation]:
    return [Observation(value, dict(zip(names, key, strict=True))) for key, value in counts.items()]


class _Cell:
    """The decisions of one (throttle, outcome), counted by one thread only."""

    __slots__ = ("decisions", "near_limit")

    def __init__(self) -> None:
        self.decisions = 0
        self.near_limit = 0


class OpenTelemetryObserver(Observer):
    """Reports decision events as OpenTelemetry metrics and as events on the current span.

    Instruments of the meter ``traffik`` (attributes in brackets):

    * ``traffik.decisions`` [``traffik.throttle``, ``traffik.outcome``];
    * ``traffik.near_limit`` [``traffik.throttle``]: decisions at or above the
      near-limit ratio (throttled ones included);
    * ``traffik.backend.errors`` [``traffik.backend``, ``traffik.policy``];
    * ``traffik.backend.latency`` (histogram, seconds) [``traffik.backend``];
    * ``traffik.failovers`` [``traffik.from_backend``, ``traffik.to_backend``];
    * ``traffik.breaker.transitions`` [``traffik.breaker``, ``traffik.state``].

    With ``span_events``, each decision taken while a span is recording (the
    request's server span under an ASGI instrumentation) adds the event
    ``traffik.decision`` to it, with the decision as attributes, and a
    throttled one sets ``traffik.throttled = true`` on the span.

    Args:
        meter_provider: Default: the global one (``opentelemetry.metrics``),
            which may be set later: the API forwards to it once it is.
        span_events: Add decision events to the current span.
        latency: Record the backend latency histogram (a synchronous
            instrument, the costliest part of a hit's report).

    Raises:
        ConfigurationError: An invalid argument.

    Example:
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> observer = OpenTelemetryObserver(MeterProvider(), span_events=False)
    """

    def __init__(
        self, meter_provider: MeterProvider | None = None, *, span_events: bool = True, latency: bool = True
    ) -> None:
        provider = _PROVIDER(_OWNER, "meter_provider", meter_provider)
        self.span_events = boolean(_OWNER, "span_events", span_events)
        self._lock = threading.Lock()
        # (throttle uid, outcome, thread id) -> counts: each cell has a single writer.
        self._cells: dict[tuple[str, str, int], _Cell] = {}
        # Rare events, counted under the lock.
        self._errors: Counts = {}
        self._failovers: Counts = {}
        self._breakers: Counts = {}
        meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider=provider)
        self._counter(
            meter,
            "traffik.decisions",
            "Consuming hits by throttle and outcome.",
            "{decision}",
            self._decision_counts,
            ("traffik.throttle", "traffik.outcome"),
        )
        self._counter(
            meter,
            "traffik.near_limit",
            "Decisions at or above the near-limit ratio.",
            "{decision}",
            self._near_limit_counts,
            ("traffik.throttle",),
        )
        self._counter(
            meter,
            "traffik.backend.errors",
            "Failed backend calls by the policy applied.",
            "{error}",
            self._locked(self._errors),
            ("traffik.backend", "traffik.policy"),
        )
        self._counter(
            meter,
            "traffik.failovers",
            "Failover switches.",
            "{switch}",
            self._locked(self._failovers),
            ("traffik.from_backend", "traffik.to_backend"),
        )
        self._counter(
            meter,
            "traffik.breaker.transitions",
            "Circuit breaker state changes.",
            "{transition}",
            self._locked(self._breakers),
            ("traffik.breaker", "traffik.state"),
        )
        self._latency = (
            meter.create_histogram(
                "traffik.backend.latency",
                unit="s",
                description="Backend call time of each decision.",
                explicit_bucket_boundaries_advisory=_LATENCY_BOUNDARIES,
            )
            if boolean(_OWNER, "latency", latency)
            else None
        )
        self._backend_attributes: dict[str, dict[str, str]] = {}

    def _counter(
        self,
        meter: metrics.Meter,
        name: str,
        description: str,
        unit: str,
        read: Callable[[], Counts],
        names: tuple[str, ...],
    ) -> None:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return _observations(read(), names)

        meter.create_observable_counter(name, callbacks=[observe], unit=unit, description=description)

    def _locked(self, counts: Counts) -> Callable[[], Counts]:
        def read() -> Counts:
            with self._lock:
                return dict(counts)

        return read

    def _decision_counts(self) -> Counts:
        totals: Counts = {}
        # dict.copy() is one C call: atomic against a thread adding its cell meanwhile.
        for (uid, outcome, _), cell in self._cells.copy().items():
            totals[uid, outcome] = totals.get((uid, outcome), 0) + cell.decisions
        return totals

    def _near_limit_counts(self) -> Counts:
        totals: Counts = {}
        for (uid, _, _), cell in self._cells.copy().items():
            if cell.near_limit:
                totals[(uid,)] = totals.get((uid,), 0) + cell.near_limit
        return totals

    # -- events: called on the hit path ---------------------------------------------

    def on_decision(self, event: DecisionEvent) -> None:
        """Count the decision; record its latency; add it to the current span."""
        key = (event.throttle_uid, event.outcome.value, get_ident())
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        cell.decisions += 1
        if event.near_limit:
            cell.near_limit += 1
        if self._latency is not None and event.backend_latency is not None:
            attributes = self._backend_attributes.get(event.backend)
            if attributes is None:
                attributes = self._backend_attributes[event.backend] = {"traffik.backend": event.backend}
            self._latency.record(event.backend_latency, attributes)
        if self.span_events:
            span = trace.get_current_span()
            if span.is_recording():
                span.add_event("traffik.decision", _span_attributes(event))
                if event.outcome is Outcome.THROTTLED:
                    span.set_attribute("traffik.throttled", True)

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


def _span_attributes(event: DecisionEvent) -> dict[str, str | bool | int | float]:
    attributes: dict[str, str | bool | int | float] = {
        "traffik.throttle": event.throttle_uid,
        "traffik.outcome": event.outcome.value,
        "traffik.strategy": event.strategy,
        "traffik.backend": event.backend,
        "traffik.cost": event.cost,
        "traffik.wait_seconds": event.wait_seconds,
        "traffik.near_limit": event.near_limit,
        "traffik.shadow": event.shadow,
    }
    if event.remaining is not None:
        attributes["traffik.remaining"] = event.remaining
    if event.limit is not None:
        attributes["traffik.limit"] = event.limit
    if event.backend_latency is not None:
        attributes["traffik.backend_latency"] = event.backend_latency
    return attributes
