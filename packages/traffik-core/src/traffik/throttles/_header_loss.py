"""One warning per FastAPI app whose throttled routes would silently lose their headers.

A FastAPI dependency (``Depends(throttle)``, ``throttled(...)``) can put the
rate limit headers only on the ``Response`` FastAPI builds from a dict or a
model: a ``JSONResponse`` the endpoint returns, an ``HTTPException`` or a 422
go out without them, and the OpenAPI schema has no 429. Only something that
wraps the ASGI ``send`` (``traffik.decorators.install(app)``, its
``RateLimitHeadersMiddleware`` or ``ThrottledRoute``, or
:class:`~traffik.middleware.ThrottleMiddleware`) can fix every response.
Nothing fails when it is missing, so the first request that shows it says so,
once per app, instead of leaving the loss silent.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, Final

from traffik.throttles._scope import INJECTED_KEY

__all__ = ["INSTALLED_ATTRIBUTE", "MESSAGE", "warn_if_headers_lost"]

_LOGGER: Final = logging.getLogger("traffik")

INSTALLED_ATTRIBUTE: Final = "_traffik_fastapi_installed"
"""Set to ``True`` on the app by ``traffik.decorators.install(app)`` (with or without its middleware)."""

_WARNED_ATTRIBUTE: Final = "_traffik_headers_warned"

MESSAGE: Final = (
    "traffik: %s serves throttled routes through FastAPI dependencies, but install(app) was not called: "
    "responses the endpoint builds itself (JSONResponse, HTTPException, a 422) go out without the rate "
    "limit headers, and the OpenAPI schema documents no 429. Call "
    "`from traffik.decorators import install; install(app)` where the app is built. "
    "(Logged once per app.)"
)
"""The warning (``%s``: the app)."""


def warn_if_headers_lost(scope: MutableMapping[str, Any]) -> None:
    """In a FastAPI dependency: warn once per app when nothing puts the headers on every response.

    Nothing is logged when a headers injector wraps this request's ``send``
    (the common case once installed: one lookup), when the app was given to
    ``traffik.decorators.install``, or when this app was warned about before.

    Args:
        scope: The request's ASGI scope (its ``"app"`` is the FastAPI app).

    Example:
        >>> warn_if_headers_lost({"type": "http", "traffik.headers_injected": True})
    """
    if INJECTED_KEY in scope:
        return
    app = scope.get("app")
    if app is None or getattr(app, INSTALLED_ATTRIBUTE, False) or getattr(app, _WARNED_ATTRIBUTE, False):
        return
    try:
        setattr(app, _WARNED_ATTRIBUTE, True)
    except (AttributeError, TypeError):
        return  # an app that takes no attribute could not be warned about only once: stay quiet
    # The text, not the app: a handler that keeps records (a test's log capture, a MemoryHandler)
    # would otherwise keep the app, its routes, throttles and backend connections alive.
    _LOGGER.warning(MESSAGE, repr(app))
