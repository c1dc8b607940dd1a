"""Ready-made ``on_error`` policies and the failure counters an operator reads.

* :func:`failover` answers from a fallback backend while the primary is down,
  guarded by a :class:`CircuitBreaker`.
* :func:`retry` repeats a failed call with constant, linear or exponential
  (jittered) backoff, then hands over to another policy.
* :func:`failure_counts` reports backend failures per cause; each cause is
  logged on the ``traffik`` logger once, then at most once per interval
  (:func:`set_failure_log_interval`).

Each policy is a callable ``policy(connection, info)`` accepted by
``on_error=`` on throttles and backends, next to ``"allow"``, ``"throttle"``
and ``"raise"``.
"""

from __future__ import annotations

from traffik.error_handlers._backoff import Backoff, compute_delay
from traffik.error_handlers._breaker import BreakerState, CircuitBreaker
from traffik.error_handlers._failover import Failover, FailoverBackend, failover
from traffik.error_handlers._monitor import (
    FailureMonitor,
    failure_counts,
    reset_failure_counts,
    set_failure_log_interval,
)
from traffik.error_handlers._retry import Retry, retry

__all__ = [
    "Backoff",
    "BreakerState",
    "CircuitBreaker",
    "Failover",
    "FailoverBackend",
    "FailureMonitor",
    "Retry",
    "compute_delay",
    "failover",
    "failure_counts",
    "reset_failure_counts",
    "retry",
    "set_failure_log_interval",
]
