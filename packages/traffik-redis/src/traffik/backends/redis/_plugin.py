"""Entry module of traffik-redis (``[project.entry-points.traffik] redis``).

It must stay cheap to import: plugin discovery imports it, and discovery must
not import redis-py. Everything it registers is named by a lazy loader string:

* backend ``redis`` (``traffik.backends.redis:RedisBackend``), URL schemes
  ``redis``, ``rediss``, ``unix``, ``redis+cluster``, ``rediss+cluster`` and
  ``redis+sentinel``;
* one Lua implementation per built-in strategy but ``fixed-window`` for backend
  ``redis`` (``traffik.backends.redis._scripts:<NAME>``, a
  :class:`~traffik.backends.redis._scripts.LuaScript`), and for ``fixed-window``
  the plain counter per window
  (``traffik.backends.redis._fixed_window:FIXED_WINDOW_COUNTER``).
"""

from __future__ import annotations

from typing import Final

from traffik.plugins import BackendInfo, StrategyImplementationInfo, hookimpl

__all__ = ["traffik_register_backends", "traffik_register_strategy_implementations"]

_SCRIPTS_MODULE: Final = "traffik.backends.redis._scripts"
# The same as RedisBackend.URL_SCHEMES (a test checks it), kept literal so that
# importing this module does not import redis-py.
_URL_SCHEMES: Final = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel")
# Strategy NAME -> attribute of the scripts module (kept literal so importing
# this module imports nothing else; a test checks it matches the module).
_LUA_IMPLEMENTATIONS: Final = (
    ("sliding-window-counter", "SLIDING_WINDOW_COUNTER"),
    ("sliding-window-log", "SLIDING_WINDOW_LOG"),
    ("token-bucket", "TOKEN_BUCKET"),
    ("token-bucket-with-debt", "TOKEN_BUCKET_WITH_DEBT"),
    ("leaky-bucket", "LEAKY_BUCKET"),
    ("leaky-bucket-with-queue", "LEAKY_BUCKET_WITH_QUEUE"),
    ("gcra", "GCRA"),
)
# FixedWindow needs no script: SET NX + INCRBY on a counter per window.
_FIXED_WINDOW_COUNTER: Final = "traffik.backends.redis._fixed_window:FIXED_WINDOW_COUNTER"


@hookimpl
def traffik_register_backends() -> list[BackendInfo]:
    """The Redis backend: standalone, TLS, unix socket, Cluster and Sentinel URLs."""
    return [
        BackendInfo(
            name="redis",
            url_schemes=_URL_SCHEMES,
            loader="traffik.backends.redis:RedisBackend",
            description="Shared counters in Redis or Redis Cluster: one round trip per hit",
        )
    ]


@hookimpl
def traffik_register_strategy_implementations() -> list[StrategyImplementationInfo]:
    """A Lua script for each of the built-in strategies but FixedWindow, and FixedWindow's counter."""
    return [
        *(
            StrategyImplementationInfo(backend="redis", strategy=strategy, loader=f"{_SCRIPTS_MODULE}:{attribute}")
            for strategy, attribute in _LUA_IMPLEMENTATIONS
        ),
        StrategyImplementationInfo(backend="redis", strategy="fixed-window", loader=_FIXED_WINDOW_COUNTER),
    ]
