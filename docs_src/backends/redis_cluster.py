"""Redis Cluster.

Every seed in one redis+cluster:// URL; a hit is one script on the key's node.
"""

from __future__ import annotations

# --8<-- [start:example]
import asyncio
import os
import uuid

from traffik.backends import backend_from_url
from traffik.backends.redis import RedisBackend
from traffik.rates import Rate
from traffik.strategies import SlidingWindowCounter

# Several seeds: start-up works as long as one of them answers.
REDIS_CLUSTER_URL = os.environ.get(
    "REDIS_CLUSTER_URL", "redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000"
)


async def hits_on_the_cluster() -> list[bool]:
    backend = backend_from_url(
        REDIS_CLUSTER_URL, namespace=f"api-{uuid.uuid4().hex[:8]}"
    )
    assert isinstance(backend, RedisBackend)
    assert backend.cluster
    # start-up: reads the slot map, loads the scripts on every primary
    async with backend:
        rate = Rate.parse("3/min")
        outcomes = []
        for client in ("alice", "bob", "carol"):  # keys spread over the primaries
            outcomes += [
                (await backend.hit(client, SlidingWindowCounter(), rate)).allowed
                for _ in range(4)
            ]
        return outcomes  # the end of the block clears this namespace on every primary


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    assert asyncio.run(hits_on_the_cluster()) == [True, True, True, False] * 3


# --8<-- [end:demo]
