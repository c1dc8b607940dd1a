"""User data reaches Redis Lua only as KEYS/ARGV, never as script text."""

from __future__ import annotations

import ast
import hashlib
import inspect
from types import ModuleType

import pytest
from redis.asyncio import Redis
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.redis import RedisBackend, _backend, _commands, _scripts
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled
from traffik.keys import escape_component
from traffik.registry import ThrottleRegistry
from traffik.strategies import GCRA, FixedWindow, SlidingWindowLog, ThrottleStrategy, TokenBucket
from traffik.testing import RedisServer

from tests.wire import recorded_writes, redis_commands

pytestmark = pytest.mark.redis

HOSTILE = "x]]) redis.call('SET', 'pwned', '1') --[[ \" ' \n\x00{}*:"


def all_scripts() -> list[_scripts.LuaScript]:
    return [getattr(_scripts, name) for name in _scripts.SCRIPTS.values()]


def test_every_script_is_its_files_and_its_sha_is_of_that_text() -> None:
    for script in all_scripts():
        source = script.source
        helpers = "".join(_scripts._read(f"helpers/{name}.lua") for name in script.helpers)
        prelude = _scripts._read("prelude.lua")
        assert source == _scripts._read("clock.lua") + prelude + helpers + _scripts._read(script.filename)
        assert script.sha == hashlib.sha1(source.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("module", [_backend, _commands], ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_the_backend_sends_script_text_only_as_it_is(module: ModuleType) -> None:
    # Every use of ``script.source`` is a bare call argument, or encoded to bytes that are one:
    # never formatted, joined or sliced.
    tree = ast.parse(inspect.getsource(module))
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "source"]
    assert uses, "no longer sends script text: update this test"
    for node in uses:
        used: ast.AST = node
        parent = parents[node]
        if isinstance(parent, ast.Attribute) and parent.attr == "encode":
            call = parents[parent]
            assert isinstance(call, ast.Call)
            assert not call.args
            assert not call.keywords
            used, parent = call, parents[call]
            if isinstance(parent, ast.Assign):  # a name for the bytes: follow it to its one use
                (target,) = parent.targets
                assert isinstance(target, ast.Name)
                (used,) = [
                    name
                    for name in ast.walk(tree)
                    if isinstance(name, ast.Name) and name.id == target.id and isinstance(name.ctx, ast.Load)
                ]
                parent = parents[used]
        assert isinstance(parent, ast.Call), f"line {node.lineno}: script text used in {type(parent).__name__}"
        assert used in parent.args, f"line {node.lineno}: script text is not a plain argument"
    for script in all_scripts():
        assert "{key" not in script.source  # no str.format placeholders waiting for user data
        assert "%s" not in script.source


@pytest.mark.parametrize(
    "strategy", [FixedWindow(), SlidingWindowLog(), TokenBucket(), GCRA(burst_tolerance_ms=40_000)]
)
async def test_hostile_identities_travel_as_keys_and_arguments(
    redis_server: RedisServer, strategy: ThrottleStrategy
) -> None:
    backend = RedisBackend(redis_server.url, namespace="lua-args", clock=ManualClock(1_700_000_010_000.0))
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
        # Every command is read back from the bytes written to the socket, as the server will read it.
        with recorded_writes() as writes:
            await throttle.hit(request)
            await throttle.hit(request)
            with pytest.raises(ConnectionThrottled):
                await throttle.hit(request)
        escaped = escape_component(HOSTILE)
        if isinstance(strategy, FixedWindow):  # no script: the identity is the counter's key, numbers follow
            counted = [
                [part.decode() for part in command]
                for data in writes
                for command in redis_commands(data)
                if command[0].upper() in (b"SET", b"INCRBY", b"GET", b"DECRBY")  # not the connection's HELLO
            ]
            assert [name for name, *_ in counted].count("INCRBY") == 3
            for name, key, *args in counted:
                assert escaped in key
                if name.upper() == "SET":  # SET key 0 PX <ttl> NX: only the TTL varies
                    assert args[:2] + args[3:] == ["0", "PX", "NX"]
                    args = args[2:3]
                assert all(arg.isdigit() for arg in args)
        calls = [
            [part.decode() for part in command[1:]]
            for data in writes
            for command in redis_commands(data)
            if command[0].upper() in (b"EVALSHA", b"EVAL")
        ]
        assert calls or isinstance(strategy, FixedWindow)
        sources = {script.sha: script.source for script in all_scripts()}
        for script, numkeys, *rest in calls:
            assert script in sources or script in sources.values(), "a script that is not one of the files"
            assert HOSTILE not in script
            keys, argv = rest[: int(numkeys)], rest[int(numkeys) :]
            assert any(escaped in key for key in keys)  # the (escaped) identity is inside KEYS[1]...
            assert not any(escaped in arg or HOSTILE in arg for arg in argv)  # ...and nowhere else
        raw = Redis.from_url(redis_server.url)
        try:
            assert await raw.get("pwned") is None
        finally:
            await raw.aclose()
    finally:
        await backend.clear()
        await backend.close()
