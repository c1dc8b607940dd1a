"""Entry module of traffik-memcached (``[project.entry-points.traffik] memcached``).

It must stay cheap to import: plugin discovery imports it, and discovery must
not import aiomcache. Everything it registers is named by a lazy loader string:

* backend ``memcached`` (``traffik.backends.memcached:MemcachedBackend``),
  URL scheme ``memcached``;
* the native ``incr``/``add`` implementation of ``fixed-window`` and the
  bounded-log ``gets``/``cas`` runner of ``sliding-window-log`` for backend
  ``memcached`` (every other strategy runs in the backend's generic
  ``gets``/``cas`` loop, which needs no registration).
"""

from __future__ import annotations

from traffik.plugins import BackendInfo, StrategyImplementationInfo, hookimpl

__all__ = ["traffik_register_backends", "traffik_register_strategy_implementations"]


@hookimpl
def traffik_register_backends() -> list[BackendInfo]:
    """The Memcached backend, reachable as ``memcached://host:port[,host:port]``."""
    return [
        BackendInfo(
            name="memcached",
            url_schemes=("memcached",),
            loader="traffik.backends.memcached:MemcachedBackend",
            description="Shared storage on one or more memcached servers (consistent hashing)",
        )
    ]


@hookimpl
def traffik_register_strategy_implementations() -> list[StrategyImplementationInfo]:
    """Native implementations for backend ``memcached`` (objects following ``StrategyRunner``)."""
    return [
        StrategyImplementationInfo(
            backend="memcached",
            strategy="fixed-window",
            loader="traffik.backends.memcached._fixed_window:FIXED_WINDOW_RUNNER",
        ),
        StrategyImplementationInfo(
            backend="memcached",
            strategy="sliding-window-log",
            loader="traffik.backends.memcached._sliding_log:SLIDING_LOG_RUNNER",
        ),
    ]
