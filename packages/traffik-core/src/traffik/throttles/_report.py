"""The rarer events of the hit pipeline (exempted, failed), built only when an observer listens.

The common one, an answered decision, is built inline in
:meth:`~traffik.throttles._verdict.VerdictSteps._report`.

Everything here runs only after the pipeline found ``DISPATCH.observers`` non
empty: a process with no observer never calls into this module on a hit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from traffik.events._dispatch import emit_backend_error, emit_decision
from traffik.events._events import AppliedPolicy, BackendErrorEvent, DecisionEvent, Outcome

if TYPE_CHECKING:
    from traffik.rates import Rate
    from traffik.throttles._config import Bound

__all__ = [
    "backend_name",
    "is_near_limit",
    "report_backend_error",
    "report_error",
    "report_exempted",
]


def backend_name(backend: object) -> str:
    """A backend's ``NAME`` (its class name when it has none)."""
    cls = type(backend)
    name = getattr(cls, "NAME", None)
    return name if isinstance(name, str) else cls.__name__


def _failed_backend_name(backend: object) -> str:
    # A failover's wrapper raises only when its fallback failed too: name the fallback.
    policy = getattr(backend, "policy", None)
    fallback = getattr(policy, "backend", None)
    if getattr(backend, "primary", None) is not None and fallback is not None:
        return backend_name(fallback)
    return backend_name(backend)


def is_near_limit(remaining: float, limit: int, ratio: float) -> bool:
    """Whether a client with ``remaining`` of ``limit`` left has used at least ``ratio`` of it."""
    return limit - remaining >= ratio * limit


def report_exempted(uid: str, bound: Bound, rate: Rate | None, cost: int, shadow: bool) -> None:
    """An exempted client: no backend call."""
    emit_decision(
        DecisionEvent(
            throttle_uid=uid,
            strategy=bound.strategy.NAME,
            backend=bound.backend_name,
            outcome=Outcome.EXEMPTED,
            cost=cost,
            remaining=None,
            limit=None if rate is None else rate.limit,
            wait_seconds=0.0,
            backend_latency=None,
            near_limit=False,
            shadow=shadow,
        )
    )


def report_error(uid: str, bound: Bound, rate: Rate, cost: int, wait_ms: float, latency: float, shadow: bool) -> None:
    """A hit whose backend call failed; ``wait_ms`` is the policy's answer (``0``: admitted)."""
    emit_decision(
        DecisionEvent(
            throttle_uid=uid,
            strategy=bound.strategy.NAME,
            backend=_failed_backend_name(bound.backend),
            outcome=Outcome.ERROR,
            cost=cost,
            remaining=None,
            limit=rate.limit,
            wait_seconds=wait_ms / 1000.0,
            backend_latency=latency,
            near_limit=False,
            shadow=shadow,
        )
    )


def report_backend_error(uid: str | None, backend: object, exc: BaseException, policy: AppliedPolicy) -> None:
    """A failed backend call and the policy applied to it."""
    emit_backend_error(BackendErrorEvent(_failed_backend_name(backend), uid, type(exc).__name__, policy))
