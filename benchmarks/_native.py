"""The Redis and Memcached plugins' own scenarios (``_redis.py``, ``_memcached.py``), when present.

Each module measures its backend's figures against its own floor (a bare
``EVALSHA`` of a trivial script; a bare ``incr``). They are imported only
when their backend is measured, so a run without those servers needs neither
client library.
"""

from __future__ import annotations

import importlib
from typing import Any

from benchmarks._targets import Target

__all__ = ["native_benchmarks"]


async def native_benchmarks(target: Target, operations: int, repeats: int) -> dict[str, Any] | None:
    """The backend's own benchmark results, or ``None`` when ``target`` has no such module (yet)."""
    try:
        if target.name == "redis" and target.redis_url is not None:
            redis_module = importlib.import_module("benchmarks._redis")
            result = await redis_module.redis_benchmarks(target.redis_url, operations, repeats)
        elif target.name == "memcached" and target.memcached:
            memcached_module = importlib.import_module("benchmarks._memcached")
            result = await memcached_module.memcached_benchmarks(list(target.memcached), operations, repeats)
        else:
            return None
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks._redis", "benchmarks._memcached"):
            raise
        return None
    if not isinstance(result, dict):
        raise TypeError(f"{target.name} benchmarks returned {type(result).__name__}, expected a dict")
    return result
