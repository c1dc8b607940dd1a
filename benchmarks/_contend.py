"""Worker process of the contention scenario: ``python -m benchmarks._contend URL NAMESPACE TASKS ATTEMPTS``.

It opens the backend, prints ``ready``, then for each line ``STRATEGY KEY``
read from stdin starts ``TASKS`` tasks that together try ``ATTEMPTS`` hits
on ``KEY`` and prints how many were admitted and how many failed with a
:class:`~traffik.exceptions.BackendError` (``ADMITTED ERRORS``). An empty line or end of input
ends it. The parent starts several of these and releases them together.
"""

from __future__ import annotations

import asyncio
import sys

from traffik.exceptions import BackendError
from traffik.plugins import backend_from_url
from traffik.strategies._base import ThrottleStrategy

from benchmarks._strategies import CONTENDED_RATE, contended

__all__ = ["main"]


async def _serve(url: str, namespace: str, tasks: int, attempts: int) -> None:
    # Persistent: the parent clears the namespace once every worker is done;
    # a worker leaving first must not wipe the counters the others still use.
    backend = backend_from_url(url, namespace=namespace, persistent=True)
    async with backend:
        loop = asyncio.get_running_loop()
        print("ready", flush=True)
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            name, key = line.split()
            strategy = contended(name)
            share, extra = divmod(attempts, tasks)

            async def task(count: int, key: str = key, strategy: ThrottleStrategy = strategy) -> tuple[int, int]:
                admitted = errors = 0
                for _ in range(count):
                    try:
                        admitted += (await backend.hit(key, strategy, CONTENDED_RATE, 1)).allowed
                    except BackendError:
                        # What a throttle's on_error policy would see: counted, not fatal.
                        errors += 1
                return admitted, errors

            results = await asyncio.gather(*(task(share + (index < extra)) for index in range(tasks)))
            print(sum(result[0] for result in results), sum(result[1] for result in results), flush=True)


def main(argv: list[str]) -> int:
    url, namespace, tasks, attempts = argv
    asyncio.run(_serve(url, namespace, int(tasks), int(attempts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
