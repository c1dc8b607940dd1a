"""How each strategy's Lua script is put together: the prelude, the helpers it uses, its own file."""

from __future__ import annotations

import re

import pytest
from traffik.backends.redis import _scripts
from traffik.backends.redis._scripts import LuaScript, helpers_for


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
