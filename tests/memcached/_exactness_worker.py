"""One process of the exactness test: 50 concurrent hits on one key, after a "go" on stdin.

Run as ``python _exactness_worker.py SPEC_JSON``; prints ``ready``, waits for a
line on stdin, then prints one JSON line with the counts.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    from traffik.backends.memcached import MemcachedBackend
    from traffik.clock import ManualClock
    from traffik.exceptions import BackendError
    from traffik.plugins import get_plugin_registry
    from traffik.rates import Rate

    strategy = get_plugin_registry().create_strategy(spec["strategy"], **spec["params"])
    rate = Rate.parse(spec["rate"])
    # Every process stands at the same frozen instant: refills and window ends
    # cannot blur the count, so exactly the serial number of hits may pass.
    backend = MemcachedBackend(
        [tuple(server) for server in spec["servers"]],
        namespace=spec["namespace"],
        clock=ManualClock(spec["now"]),
        persistent=True,
    )
    await backend.initialize()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def one() -> str:
        try:
            return "admitted" if (await backend.hit(spec["key"], strategy, rate)).allowed else "denied"
        except BackendError as exc:
            return type(exc).__name__

    outcomes = await asyncio.gather(*(one() for _ in range(spec["tasks"])))
    await backend.close()
    return {name: outcomes.count(name) for name in set(outcomes)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))), flush=True)
