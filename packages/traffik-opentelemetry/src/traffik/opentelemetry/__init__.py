"""OpenTelemetry metrics and span events of Traffik's decisions (distribution ``traffik-opentelemetry``).

``install()`` reports every throttle decision of the process through the
OpenTelemetry metrics API and as an event on the current span
(``TRAFFIK_OPENTELEMETRY=1`` does the same without code). Importing this
package is cheap: opentelemetry is imported on first use of a name.

Example:
    >>> import traffik.opentelemetry
    >>> int(traffik.opentelemetry.__version__.split(".")[0]) >= 2
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from traffik.lazy import lazy_attributes
from traffik.opentelemetry.__about__ import __version__

if TYPE_CHECKING:
    from traffik.opentelemetry._install import ENVIRONMENT_VARIABLE, install
    from traffik.opentelemetry._observer import INSTRUMENTATION_SCOPE, OpenTelemetryObserver

__all__ = ["ENVIRONMENT_VARIABLE", "INSTRUMENTATION_SCOPE", "OpenTelemetryObserver", "__version__", "install"]

_LAZY_ATTRIBUTES: Final[dict[str, str]] = {
    "ENVIRONMENT_VARIABLE": "traffik.opentelemetry._install",
    "INSTRUMENTATION_SCOPE": "traffik.opentelemetry._observer",
    "OpenTelemetryObserver": "traffik.opentelemetry._observer",
    "install": "traffik.opentelemetry._install",
}
"""Public name -> module that defines it, imported on first access (keeps opentelemetry unimported)."""


__getattr__ = lazy_attributes(__name__, globals(), _LAZY_ATTRIBUTES)
