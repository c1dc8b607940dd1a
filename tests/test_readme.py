"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from traffik.registry import GLOBAL_REGISTRY

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source: str) -> None:
    GLOBAL_REGISTRY.unregister("api")  # the example registers a module-level throttle, as an app would
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(source, str(README), "exec"), namespace)


async def test_quickstart_throttles_the_101st_call() -> None:
    import httpx
    from fastapi import FastAPI

    GLOBAL_REGISTRY.unregister("api")
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(BLOCKS[0], str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, FastAPI)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        statuses = [(await client.get("/items")).status_code for _ in range(101)]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429
