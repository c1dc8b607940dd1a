"""User data reaches Redis Lua only as KEYS/ARGV, never as script text."""

from __future__ import annotations

import ast
import hashlib
import inspect
from typing import Any

import pytest
from redis.asyncio import Redis
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.redis import RedisBackend, _backend, _scripts
from traffik.exceptions import ConnectionThrottled
from traffik.keys import escape_component
from traffik.registry import ThrottleRegistry
from traffik.strategies import GCRA, FixedWindow, SlidingWindowLog, ThrottleStrategy, TokenBucket
from traffik.testing import RedisServer

pytestmark = pytest.mark.redis

HOSTILE = "x]]) redis.call('SET', 'pwned', '1') --[[ \" ' \n\x00{}*:"


def all_scripts() -> list[_scripts.LuaScript]:
    return [getattr(_scripts, name) for name in _scripts.SCRIPTS.values()]


def test_every_script_is_its_files_and_its_sha_is_of_that_text() -> None:
    for script in all_scripts():
        source = script.source
        assert source == _scripts._read("prelude.lua") + _scripts._read(script.filename)
        assert script.sha == hashlib.sha1(source.encode("utf-8")).hexdigest()


def test_the_backend_sends_script_text_only_as_it_is() -> None:
    # Every use of ``script.source`` in the backend is a bare call argument: never formatted, joined or sliced.
    tree = ast.parse(inspect.getsource(_backend))
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "source"]
    assert uses, "the backend no longer sends script text: update this test"
    for node in uses:
        parent = parents[node]
        assert isinstance(parent, ast.Call), f"line {node.lineno}: script text used in {type(parent).__name__}"
        assert node in parent.args, f"line {node.lineno}: script text is not a plain argument"
    for script in all_scripts():
        assert "{key" not in script.source  # no str.format placeholders waiting for user data
        assert "%s" not in script.source


@pytest.mark.parametrize(
    "strategy", [FixedWindow(), SlidingWindowLog(), TokenBucket(), GCRA(burst_tolerance_ms=40_000)]
)
async def test_hostile_identities_travel_as_keys_and_arguments(
    redis_server: RedisServer, strategy: ThrottleStrategy, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = RedisBackend(redis_server.url, namespace="lua-args")
    client = backend._ensure_client()
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in ("evalsha", "eval"):
        original = getattr(client, name)

        def spy(*args: Any, _name: str = name, _original: Any = original) -> Any:
            calls.append((_name, args))
            return _original(*args)

        monkeypatch.setattr(client, name, spy)
    throttle = HTTPThrottle(
        "lua",
        rate="2/min",
        backend=backend,
        strategy=strategy,
        identifier=lambda connection: HOSTILE,
        on_error="raise",
        registry=ThrottleRegistry(),
    )
    request = Request({"type": "http", "method": "GET", "path": "/" + HOSTILE, "headers": []})
    try:
        await throttle.hit(request)
        await throttle.hit(request)
        with pytest.raises(ConnectionThrottled):
            await throttle.hit(request)
        assert calls
        escaped = escape_component(HOSTILE)
        sources = {script.sha: script.source for script in all_scripts()}
        for _method, args in calls:
            script, numkeys, *rest = args
            assert script in sources or script in sources.values(), "a script that is not one of the files"
            assert HOSTILE not in str(script)
            keys, argv = rest[:numkeys], rest[numkeys:]
            assert any(escaped in str(key) for key in keys)  # the (escaped) identity is inside KEYS[1]...
            assert not any(escaped in str(arg) or HOSTILE in str(arg) for arg in argv)  # ...and nowhere else
        raw = Redis.from_url(redis_server.url)
        try:
            assert await raw.get("pwned") is None
        finally:
            await raw.aclose()
    finally:
        await backend.clear()
        await backend.close()
