"""Entry module of traffik-fastapi (``[project.entry-points.traffik] fastapi``).

It must stay cheap to import: plugin discovery imports it, and discovery must
not import FastAPI. What it registers is named by a lazy loader string.
"""

from __future__ import annotations

from traffik.plugins import IntegrationInfo, hookimpl

__all__ = ["INTEGRATION", "traffik_register_integrations"]

INTEGRATION = IntegrationInfo(
    name="fastapi",
    framework="fastapi",
    loader="traffik.decorators:throttled",
    description="@throttled decorator and dependency, headers on every response, 429 in OpenAPI",
)
"""Integration ``fastapi``: its entry object is :func:`traffik.decorators.throttled`."""


@hookimpl
def traffik_register_integrations() -> list[IntegrationInfo]:
    """The FastAPI integration."""
    return [INTEGRATION]
