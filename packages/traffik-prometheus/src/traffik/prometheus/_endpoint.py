"""Serve a registry's metrics from the application itself: ``GET /metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from traffik.validation import instance_of, optional

__all__ = ["metrics_endpoint"]

_REGISTRY = optional(instance_of(CollectorRegistry, description="a prometheus_client CollectorRegistry"))


def metrics_endpoint(registry: CollectorRegistry | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette/FastAPI endpoint that answers with the metrics of ``registry`` in Prometheus's text format.

    It follows the scraper's ``Accept`` header (OpenMetrics when asked). Add it
    to the app as a plain route, outside any throttle: ``app.add_route("/metrics",
    metrics_endpoint(), include_in_schema=False)`` in FastAPI, or
    ``Route("/metrics", metrics_endpoint())`` in Starlette.

    Args:
        registry: The registry to expose (default: ``prometheus_client.REGISTRY``).

    Raises:
        ConfigurationError: ``registry`` is not a ``CollectorRegistry``.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> from starlette.routing import Route
        >>> route = Route("/metrics", metrics_endpoint(CollectorRegistry()))
    """
    chosen = _REGISTRY("metrics_endpoint", "registry", registry)
    target: CollectorRegistry = REGISTRY if chosen is None else chosen

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(target), headers={"Content-Type": content_type})

    return metrics
