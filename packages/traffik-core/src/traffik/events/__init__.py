"""Decision events: observe every throttle decision, backend failure, failover and breaker move.

An :class:`Observer` registered with :func:`add_observer` (or declared by an
installed plugin through the ``traffik_observers`` hook) receives:

* :class:`DecisionEvent` for every consuming hit of every throttle, with its
  :class:`Outcome` (``allowed``, ``throttled``, ``shadow-throttled``,
  ``exempted``, ``error``), cost, remaining quota, limit, wait, backend
  latency and the near-limit flag;
* :class:`BackendErrorEvent` when a backend call fails, with the policy applied;
* :class:`FailoverEvent` when a failover switches backends;
* :class:`BreakerEvent` when a circuit breaker changes state.

With no observer registered, the hit path builds no event and reads no clock.
This module is part of the public plugin API (metrics distributions build on it).

Example:
    >>> from traffik.events import DecisionEvent, Observer, add_observer, remove_observer
    >>> class Printer(Observer):
    ...     def on_decision(self, event: DecisionEvent) -> None:
    ...         print(event.throttle_uid, event.outcome.value)
    >>> printer = Printer()
    >>> add_observer(printer)
    >>> remove_observer(printer)
"""

from traffik.events._dispatch import add_observer, observers, remove_observer
from traffik.events._events import (
    AppliedPolicy,
    BackendErrorEvent,
    BreakerEvent,
    BreakerState,
    DecisionEvent,
    FailoverEvent,
    Observer,
    Outcome,
)

__all__ = [
    "AppliedPolicy",
    "BackendErrorEvent",
    "BreakerEvent",
    "BreakerState",
    "DecisionEvent",
    "FailoverEvent",
    "Observer",
    "Outcome",
    "add_observer",
    "observers",
    "remove_observer",
]
