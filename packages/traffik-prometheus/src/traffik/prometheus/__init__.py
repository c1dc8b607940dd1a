"""Prometheus metrics of Traffik's decisions (distribution ``traffik-prometheus``).

``install()`` counts every throttle decision of the process on a
``prometheus_client`` registry (``TRAFFIK_PROMETHEUS=1`` does the same without
code); ``metrics_endpoint()`` serves the registry at ``/metrics``. Importing
this package is cheap: prometheus_client is imported on first use of a name.

Example:
    >>> import traffik.prometheus
    >>> int(traffik.prometheus.__version__.split(".")[0]) >= 2
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from traffik.lazy import lazy_attributes
from traffik.prometheus.__about__ import __version__

if TYPE_CHECKING:
    from traffik.prometheus._endpoint import metrics_endpoint
    from traffik.prometheus._install import ENVIRONMENT_VARIABLE, install
    from traffik.prometheus._observer import DEFAULT_LATENCY_BUCKETS, PrometheusObserver

__all__ = [
    "DEFAULT_LATENCY_BUCKETS",
    "ENVIRONMENT_VARIABLE",
    "PrometheusObserver",
    "__version__",
    "install",
    "metrics_endpoint",
]

_LAZY_ATTRIBUTES: Final[dict[str, str]] = {
    "DEFAULT_LATENCY_BUCKETS": "traffik.prometheus._observer",
    "ENVIRONMENT_VARIABLE": "traffik.prometheus._install",
    "PrometheusObserver": "traffik.prometheus._observer",
    "install": "traffik.prometheus._install",
    "metrics_endpoint": "traffik.prometheus._endpoint",
}
"""Public name -> module that defines it, imported on first access (keeps prometheus_client unimported)."""


__getattr__ = lazy_attributes(__name__, globals(), _LAZY_ATTRIBUTES)
