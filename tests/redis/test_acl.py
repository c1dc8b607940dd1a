"""Redis ACL users: the user the docs grant can do everything a backend does; a missing permission shows.

The user is the ``ACL SETUSER traffik ...`` line of ``docs/backends/redis-standalone.md``
(and of the cluster and Sentinel pages), read from the pages themselves, so the docs
cannot drift from what is tested. Users are created on the session's servers under unique
names and deleted afterwards. ``ACL LOG`` proves that Redis refused none of the commands
the backend sent, the ones redis-py sends for it included (its handshake, a cluster's
topology reads).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster
from traffik.backends.redis import RedisBackend, _connections
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.exceptions import BackendError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, TokenBucket
from traffik.testing import RedisServer

from tests.redis.conftest import Cluster, unique_namespace
from tests.redis.strategies import DEFAULTS, window_key_of
from tests.redis.topologies import SentinelTopology, redis_command

pytestmark = pytest.mark.redis

DOCS = Path(__file__).resolve().parents[2] / "docs" / "backends"
LUA = Path(__file__).resolve().parents[2] / "packages/traffik-redis/src/traffik/backends/redis/lua"
PASSWORD = "acl-user-staple-42"
HOURLY = Rate.parse("5/hour")  # long windows: nothing expires while a loaded machine runs the test
DOCUMENTED_NAMESPACE = "api"
_users = itertools.count()
# Sent by redis-py >= 5 on every connection, its refusal ignored; Redis 7.0 cannot grant it (see the docs).
_TOLERATED = {"client|setinfo"}


def documented_rules(page: str, user: str = "traffik") -> list[str]:
    """The rules of the page's one ``ACL SETUSER <user> ...`` line."""
    pattern = rf"^ACL SETUSER {re.escape(user)} (.+)$"
    lines: list[str] = re.findall(pattern, (DOCS / page).read_text(), re.MULTILINE)
    (line,) = lines
    return line.split()


def rules_for(rules: Sequence[str], namespace: str) -> list[str]:
    """The documented ``rules`` with the test's password and ``namespace``'s key pattern."""
    documented_keys = "~" + KeyLayout(DOCUMENTED_NAMESPACE).scan_pattern
    assert ">change-me" in rules
    swap = {">change-me": f">{PASSWORD}", documented_keys: "~" + KeyLayout(namespace).scan_pattern}
    return [swap.get(rule, rule) for rule in rules]


@dataclass
class AclUser:
    """A user made on ``servers`` with ``rules``, for ``namespace``'s keys."""

    name: str
    namespace: str
    servers: list[RedisServer]

    def url(self, query: str = "") -> str:
        server = self.servers[0]
        return f"redis://{self.name}:{PASSWORD}@{server.host}:{server.port}/0{query}"

    async def refusals(self) -> list[dict[str, Any]]:
        """``ACL LOG`` entries of this user, on every server (the tolerated ones left out)."""
        found: list[dict[str, Any]] = []
        for server in self.servers:
            async with Redis(host=server.host, port=server.port, decode_responses=True) as admin:
                entries = await admin.acl_log()
            found += [e for e in entries if e["username"] == self.name and e["object"] not in _TOLERATED]
        return found


MakeUser = Callable[[Sequence[RedisServer], Sequence[str]], Awaitable[AclUser]]


@pytest.fixture
async def make_user() -> AsyncIterator[MakeUser]:
    """Creates ACL users (rules as the docs write them, for a fresh namespace); deleted, keys removed, at the end."""
    made: list[AclUser] = []

    async def make(servers: Sequence[RedisServer], rules: Sequence[str]) -> AclUser:
        user = AclUser(f"traffik-acl-{next(_users)}", unique_namespace("acl"), list(servers))
        for server in servers:
            async with Redis(host=server.host, port=server.port) as admin:
                rules_here = rules_for(rules, user.namespace)
                await admin.execute_command("ACL", "SETUSER", user.name, *rules_here)  # type: ignore[no-untyped-call]
        made.append(user)
        return user

    yield make
    for user in made:
        for server in user.servers:
            async with Redis(host=server.host, port=server.port) as admin:
                await admin.acl_deluser(user.name)
                async for key in admin.scan_iter(match=KeyLayout(user.namespace).scan_pattern):
                    await admin.delete(key)  # one at a time: a cluster node refuses keys of several slots


def _admin(user: AclUser) -> Redis | RedisCluster:
    """A client of the default user on ``user``'s server or cluster (the caller closes it)."""
    server = user.servers[0]
    if len(user.servers) > 1:
        return RedisCluster(host=server.host, port=server.port)
    return Redis(host=server.host, port=server.port)


async def _run_everything(user: AclUser, query: str = "", **options: Any) -> None:
    """Every operation of a backend, as ``user``: start-up, hits and peeks, give-backs, a reset, a lock, clear."""
    backend = RedisBackend(user.url(query), namespace=user.namespace, on_error="raise", **options)
    clock = ManualClock(1_700_000_000_000.0)  # FixedWindow's window, chosen by the test
    counted = RedisBackend(user.url(query), namespace=user.namespace, on_error="raise", clock=clock, **options)
    try:
        await backend.initialize()
        for strategy in DEFAULTS.values():  # server time (TIME inside the scripts)
            before = await backend.peek("client", strategy, HOURLY)
            assert (await backend.hit("client", strategy, HOURLY)).allowed, strategy.NAME
            after = await backend.peek("client", strategy, HOURLY)
            # The hit was stored: fewer hits remain, or (GCRA: a 250 ms tolerance at 5/hour) none is allowed.
            assert (after.allowed, after.hits_remaining) < (before.allowed, before.hits_remaining), strategy.NAME
        for server in user.servers:  # a restart's empty script cache: NOSCRIPT, then EVAL
            async with Redis(host=server.host, port=server.port) as flushing:
                await flushing.script_flush()
        assert (await backend.hit("client", TokenBucket(), HOURLY)).allowed

        # FixedWindow, mixed costs: a denial with room gives its cost back (SET NX + DECRBY).
        key = window_key_of(user.namespace, "counted", clock(), HOURLY)
        assert (await counted.hit("counted", FixedWindow(), HOURLY, cost=3)).allowed
        assert not (await counted.hit("counted", FixedWindow(), HOURLY, cost=4)).allowed
        assert (await counted.peek("counted", FixedWindow(), HOURLY, cost=2)).allowed
        assert (await counted.hit("counted", FixedWindow(), HOURLY, cost=2)).allowed
        admin = _admin(user)
        try:
            assert await admin.get(key) == b"5"
            assert await admin.pttl(key) > 0
            await admin.set(key, "damaged")  # no counter: the next hit replaces it (SET ... PX)
            assert (await counted.hit("counted", FixedWindow(), HOURLY, cost=2)).allowed
            assert await admin.get(key) == b"2"
            assert await admin.pttl(key) > 0
        finally:
            await admin.aclose()

        lock = backend.lock("acl")
        async with lock:
            assert lock.locked()
        await backend.clear()
        for server in user.servers:
            async with Redis(host=server.host, port=server.port) as admin:
                assert [key async for key in admin.scan_iter(match=KeyLayout(user.namespace).scan_pattern)] == []
    finally:
        await counted.close()
        await backend.close()
    assert await user.refusals() == []


@pytest.mark.parametrize(
    ("auto_pipeline", "query"),
    [(True, ""), (False, ""), (True, "?protocol=3")],
    ids=["pipelined", "kept", "resp3"],
)
async def test_the_documented_user_runs_every_operation_of_a_backend(
    make_user: MakeUser,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
    auto_pipeline: bool,
    query: str,
) -> None:
    user = await make_user([redis_server], documented_rules("redis-standalone.md"))
    with caplog.at_level(logging.WARNING, logger="traffik.backends.redis"):
        await _run_everything(user, query, auto_pipeline=auto_pipeline)
    assert any("resetting" in record.message for record in caplog.records)  # the damaged counter was replaced


@pytest.mark.parametrize("auto_pipeline", [True, False], ids=["cluster", "cluster-unpipelined"])
async def test_the_documented_cluster_user_runs_every_operation_of_a_backend(
    make_user: MakeUser, redis_cluster: Cluster, auto_pipeline: bool
) -> None:
    user = await make_user(redis_cluster.nodes, documented_rules("redis-cluster.md"))
    await _run_everything(user, cluster=True, auto_pipeline=auto_pipeline)


def test_the_documented_user_may_run_every_command_the_scripts_call() -> None:
    # Redis checks a script's commands against the user: a command added to a script must be granted too.
    called = {
        name.lower()
        for path in LUA.rglob("*.lua")
        for name in re.findall(r"redis\.p?call\('([A-Za-z]+)'", path.read_text())
    }
    assert {"time", "rpush", "get"} <= called  # the pattern still finds them
    granted = {rule[1:] for rule in documented_rules("redis-standalone.md") if rule.startswith("+")}
    assert called <= granted, called - granted
    standalone = documented_rules("redis-standalone.md")
    assert "~" + KeyLayout(DOCUMENTED_NAMESPACE).scan_pattern in standalone  # what rules_for replaces
    assert documented_rules("redis-cluster.md")[: len(standalone)] == standalone  # the cluster's adds to it


ROUTES = ["pipelined", "kept", "public-path", "single-connection", "cluster", "cluster-unpipelined"]


@pytest.mark.parametrize("missing", ["set", "keys"], ids=["no-set", "another-namespace"])
@pytest.mark.parametrize("route", ROUTES)
async def test_a_user_without_set_or_the_keys_fails_fixed_window_hits(
    make_user: MakeUser,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    missing: str,
) -> None:
    # Without SET, the counter's SET NX is refused while its INCRBY runs: on the routes that send
    # the two in one write, the refusal was read and dropped, and the hit was admitted with a
    # counter left without a TTL. Now every route fails the hit (on_error decides), as it does
    # when both commands are refused (a key outside the user's pattern).
    clustered = route.startswith("cluster")
    servers = request.getfixturevalue("redis_cluster").nodes if clustered else [request.getfixturevalue("redis_server")]
    page = "redis-cluster.md" if clustered else "redis-standalone.md"
    rules = [rule for rule in documented_rules(page) if rule != "+set"]
    if missing == "keys":
        rules = [rule if not rule.startswith("~") else "~elsewhere:*" for rule in documented_rules(page)]
    user = await make_user(servers, rules)
    client: Redis | None = None
    options: dict[str, Any] = {"namespace": user.namespace, "on_error": "raise", "auto_pipeline": route != "kept"}
    if clustered:
        options["cluster"] = True
        options["auto_pipeline"] = route == "cluster"
    if route == "public-path":  # a redis-py whose streams this code does not recognise
        monkeypatch.setattr(_connections, "_streams", lambda connection: None)
    if route == "single-connection":
        client = Redis.from_url(user.url(), single_connection_client=True)
    backend = RedisBackend(client if client is not None else user.url(), **options)
    try:
        await backend.initialize()  # PING and SCRIPT LOAD are granted: the start-up cannot tell
        for _ in range(2):  # the first creates the key, the second finds it
            with pytest.raises(BackendError, match=r"(?i)no permissions"):
                await backend.hit("client", FixedWindow(), HOURLY)
    finally:
        await backend.close()
        if client is not None:
            await client.aclose()


async def test_a_user_without_decrby_is_denied_and_warned_instead_of_giving_back(
    make_user: MakeUser, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    user = await make_user([redis_server], [r for r in documented_rules("redis-standalone.md") if r != "+decrby"])
    backend = RedisBackend(user.url(), namespace=user.namespace, on_error="raise", clock=ManualClock(0.0))
    try:
        assert (await backend.hit("client", FixedWindow(), HOURLY, cost=3)).allowed
        with caplog.at_level(logging.WARNING, logger="traffik.backends.redis"):
            assert not (await backend.hit("client", FixedWindow(), HOURLY, cost=4)).allowed
        assert any("giving back" in r.message and "decrby" in r.message for r in caplog.records)
        assert not (await backend.hit("client", FixedWindow(), HOURLY, cost=2)).allowed  # its cost stayed
    finally:
        await backend.close()


async def test_the_documented_sentinel_and_data_node_users_run_a_backend() -> None:
    # Sentinel's own ACL user asks where the primary is; the data user is the single server's.
    topology = SentinelTopology.start_for_test()
    try:
        namespace = unique_namespace("acl")
        data_rules = rules_for(documented_rules("redis-standalone.md"), namespace)
        for node in topology.nodes:
            assert redis_command(node.address, "ACL", "SETUSER", "traffik", *data_rules) == "OK"
        (sentinel,) = topology.sentinels
        sentinel_rules = rules_for(documented_rules("redis-sentinel.md", "traffik-sentinel"), namespace)
        assert redis_command(sentinel.address, "ACL", "SETUSER", "traffik-sentinel", *sentinel_rules) == "OK"
        credentials = f"sentinel_username=traffik-sentinel&sentinel_password={PASSWORD}"
        url = topology.url.replace("://", f"://traffik:{PASSWORD}@", 1) + f"?{credentials}"
        backend = RedisBackend(url, namespace=namespace, on_error="raise")
        try:
            await backend.initialize()
            for strategy in DEFAULTS.values():
                assert (await backend.hit("client", strategy, HOURLY)).allowed, strategy.NAME
            peeked = await backend.peek("client", FixedWindow(), HOURLY)
            assert peeked.hits_remaining == HOURLY.limit - 2  # the hit stored, then the one peeked at
            async with backend.lock("acl"):
                pass
            await backend.clear()
        finally:
            await backend.close()
        for address in [sentinel.address, *(node.address for node in topology.nodes)]:
            assert redis_command(address, "ACL", "LOG") == [], address
    finally:
        topology.stop()
