"""How each strategy's Lua script is put together (the prelude, the helpers it uses, its own file), and when it runs."""

from __future__ import annotations

import re

import pytest
from traffik.backends.redis import _scripts
from traffik.backends.redis._scripts import LuaScript, helpers_for
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import Decision, State, ThrottleStrategy

from tests.redis.conftest import BackendFactory
from tests.redis.strategies import DEFAULTS


def all_scripts() -> list[LuaScript]:
    return [getattr(_scripts, name) for name in _scripts.SCRIPTS.values()]


def _calls(code: str) -> set[str]:
    """Names the code (comments aside) uses that are helpers."""
    return _scripts._identifiers(code) & _scripts._helpers().keys()


def test_each_helper_file_defines_the_local_function_it_is_named_after() -> None:
    helpers = _scripts._helpers()
    assert helpers, "no helpers found under lua/helpers/"
    for name, text in helpers.items():
        assert re.search(rf"^local function {name}\(", text, re.MULTILINE), name


@pytest.mark.parametrize("script", all_scripts(), ids=lambda script: script.strategy)
def test_a_script_carries_exactly_the_helpers_it_calls_each_after_those_it_needs(script: LuaScript) -> None:
    helpers = _scripts._helpers()
    needed = _calls(_scripts._read("prelude.lua") + _scripts._read(script.filename))
    for name in script.helpers:
        needed |= _calls(helpers[name]) - {name}
    assert set(script.helpers) == needed
    for position, name in enumerate(script.helpers):
        assert _calls(helpers[name]) - {name} <= set(script.helpers[:position]), name


def test_every_helper_is_used_by_some_script() -> None:
    used = {name for script in all_scripts() for name in script.helpers}
    assert used == set(_scripts._helpers())


def test_only_code_counts_not_comments_and_the_order_is_stable() -> None:
    assert helpers_for("-- like time_until, but\nlocal x = 1\n") == ()
    assert helpers_for("return after_now(time_until(now))") == ("next_up", "after_now", "time_until")
    assert helpers_for("local after_nowish = 1") == ()


def test_helpers_that_use_each_other_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {"a": "local function a() return b() end\n", "b": "local function b() return a() end\n"}
    monkeypatch.setattr(_scripts, "_helpers", lambda: fake)
    with pytest.raises(ValueError, match="a -> b -> a"):
        helpers_for("a()")


# -- which scripts run, and on which servers ------------------------------------


@pytest.mark.parametrize("script", all_scripts(), ids=lambda script: script.strategy)
def test_a_script_asks_for_effects_replication_before_reading_time_or_writing(script: LuaScript) -> None:
    # Redis 4 (and 5/6 with lua-replicate-commands no) refuse a write after TIME in a script
    # replicated verbatim: the guard must run before the first redis.call of any kind.
    code = _scripts._COMMENT.sub("", script.source)
    guard = code.index("if redis.replicate_commands then\n  redis.replicate_commands()\nend")
    first_call = min(code.index(call) for call in ("redis.call(", "redis.pcall(") if call in code)
    assert guard < first_call


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(set(DEFAULTS) - {"fixed-window"}))  # FixedWindow has no script
async def test_every_script_runs_on_the_server_clock(name: str, make_backend: BackendFactory) -> None:
    backend = make_backend()  # no clock: the scripts read the server's TIME
    strategy, rate = DEFAULTS[name], Rate(limit=3, minutes=1)
    assert backend._script_for(strategy) is not None  # natively, not through the lock path
    decisions = [await backend.hit("server-time", strategy, rate) for _ in range(8)]  # at most 6 pass
    assert decisions[0].allowed
    assert not decisions[-1].allowed
    assert decisions[-1].wait_ms > 0
    peeked = await backend.peek("server-time", strategy, rate)
    assert not peeked.allowed


class _Refuses:
    """Mixed into a built-in strategy: the same NAME, a step that refuses every hit."""

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        return state, Decision(False, 1_234.0, 0)


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_a_subclass_is_enforced_by_its_own_step_not_its_parents_script(
    name: str, make_backend: BackendFactory, clock: ManualClock
) -> None:
    parent = type(DEFAULTS[name])
    subclass = type(f"Refusing{parent.__name__}", (_Refuses, parent), {})
    strategy: ThrottleStrategy = subclass(**DEFAULTS[name].params())
    assert strategy.NAME == parent.NAME
    backend = make_backend(clock=clock)
    rate = Rate(limit=100, minutes=1)  # the parent's script would admit
    assert backend._script_for(strategy) is None
    assert backend._script_for(DEFAULTS[name]) is not None  # the exact class still runs its script
    decision = await backend.hit("subclass", strategy, rate)
    assert (decision.allowed, decision.wait_ms) == (False, 1_234.0)
    assert (await backend.peek("subclass", strategy, rate)).allowed is False
    assert (await backend.hit("subclass", DEFAULTS[name], rate)).allowed
