"""Running a hit on a Redis Cluster exactly once.

redis-py's ``RedisCluster`` retries a command that failed with a timeout or a
connection error (``cluster_error_retry_attempts`` in redis-py 5.x, the
``retry`` object later, three times by default). For a hit that is wrong: a
script that timed out may well have run, and running it again counts the hit
twice. Naming the target node turns those retries off for the call (redis-py
retries only commands it routes itself), while redirects keep working: a
``MOVED`` or ``ASK`` reply means the node did not run the script, and redis-py
follows it to the right node, then updates its slot map.

The node is looked up from redis-py's slot map, after letting the client run a
topology refresh that an earlier error asked for, so a failover or a migrated
slot is picked up by the next hit.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import RedisCluster

__all__ = ["run_once"]


async def run_once(client: RedisCluster, key: str, *args: Any) -> Any:
    """Send ``args`` (a one-key command on ``key``) to the node owning ``key``: never retried, redirects followed.

    Raises:
        redis.exceptions.RedisError: The node failed or timed out (the command may have run).
        redis.exceptions.RedisClusterException: No node serves the key's slot.
    """
    await client.initialize()  # returns at once unless a refresh is due
    node = client.get_node_from_key(key)
    return await client.execute_command(*args, target_nodes=node)
