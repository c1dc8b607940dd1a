"""traffik.config: lazy environment reads, setters, validation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from traffik import config
from traffik.exceptions import ConfigurationError

ENV_VARS = (
    config.TRAFFIK_DEFAULT_LOCK_TTL,
    config.TRAFFIK_DEFAULT_BLOCKING,
    config.TRAFFIK_DEFAULT_BLOCKING_TIMEOUT,
)


@pytest.fixture(autouse=True)
def clean_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in ENV_VARS:
        monkeypatch.delenv(variable, raising=False)
    config.reset_config()
    yield
    config.reset_config()


def test_variable_names() -> None:
    assert ENV_VARS == (
        "TRAFFIK_DEFAULT_LOCK_TTL",
        "TRAFFIK_DEFAULT_BLOCKING",
        "TRAFFIK_DEFAULT_BLOCKING_TIMEOUT",
    )


def test_defaults_without_environment() -> None:
    assert config.get_lock_ttl() is None
    assert config.get_lock_blocking() is True
    assert config.get_lock_blocking_timeout() is None


def test_environment_is_read_lazily_at_first_get(monkeypatch: pytest.MonkeyPatch) -> None:
    # The module is already imported: a variable set now must still be seen.
    monkeypatch.setenv("TRAFFIK_DEFAULT_LOCK_TTL", "2.5")
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING", "no")
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING_TIMEOUT", "7")
    assert config.get_lock_ttl() == 2.5
    assert config.get_lock_blocking() is False
    assert config.get_lock_blocking_timeout() == 7.0


def test_environment_value_is_cached_after_first_get(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAFFIK_DEFAULT_LOCK_TTL", "1")
    assert config.get_lock_ttl() == 1.0
    monkeypatch.setenv("TRAFFIK_DEFAULT_LOCK_TTL", "9")
    assert config.get_lock_ttl() == 1.0
    config.reset_config()
    assert config.get_lock_ttl() == 9.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), (" Yes ", True),
     ("false", False), ("False", False), ("0", False), ("no", False), ("NO", False)],
)  # fmt: skip
def test_blocking_accepts_boolean_words(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING", raw)
    assert config.get_lock_blocking() is expected


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    for variable in ENV_VARS:
        monkeypatch.setenv(variable, raw)
    assert config.get_lock_ttl() is None
    assert config.get_lock_blocking() is True
    assert config.get_lock_blocking_timeout() is None


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("0.25", 0.25), ("30", 30.0), ("1e3", 1000.0)])
@pytest.mark.parametrize(
    ("variable", "getter"),
    [("TRAFFIK_DEFAULT_LOCK_TTL", config.get_lock_ttl),
     ("TRAFFIK_DEFAULT_BLOCKING_TIMEOUT", config.get_lock_blocking_timeout)],
    ids=["ttl", "blocking_timeout"],
)  # fmt: skip
def test_seconds_variables_accept_non_negative_numbers(
    monkeypatch: pytest.MonkeyPatch, variable: str, getter: Callable[[], float | None], raw: str, expected: float
) -> None:
    monkeypatch.setenv(variable, raw)
    assert getter() == expected


@pytest.mark.parametrize("raw", ["-1", "abc", "nan", "1s", "-0.5"])
@pytest.mark.parametrize(
    ("variable", "getter"),
    [("TRAFFIK_DEFAULT_LOCK_TTL", config.get_lock_ttl),
     ("TRAFFIK_DEFAULT_BLOCKING_TIMEOUT", config.get_lock_blocking_timeout)],
    ids=["ttl", "blocking_timeout"],
)  # fmt: skip
def test_invalid_seconds_variable_names_variable_and_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, getter: Callable[[], float | None], raw: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ConfigurationError) as info:
        getter()
    assert variable in str(info.value)
    assert repr(raw) in str(info.value)


@pytest.mark.parametrize("raw", ["maybe", "2", "on", "tru"])
def test_invalid_blocking_variable_names_variable_and_value(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING", raw)
    with pytest.raises(ConfigurationError) as info:
        config.get_lock_blocking()
    assert "TRAFFIK_DEFAULT_BLOCKING" in str(info.value)
    assert repr(raw) in str(info.value)


def test_setters_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAFFIK_DEFAULT_LOCK_TTL", "5")
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING", "true")
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING_TIMEOUT", "5")
    config.set_lock_ttl(1.5)
    config.set_lock_blocking(False)
    config.set_lock_blocking_timeout(0)
    assert config.get_lock_ttl() == 1.5
    assert config.get_lock_blocking() is False
    assert config.get_lock_blocking_timeout() == 0.0


def test_setters_accept_none_for_seconds() -> None:
    config.set_lock_ttl(3)
    config.set_lock_ttl(None)
    config.set_lock_blocking_timeout(3)
    config.set_lock_blocking_timeout(None)
    assert config.get_lock_ttl() is None
    assert config.get_lock_blocking_timeout() is None


def test_setter_overrides_an_invalid_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAFFIK_DEFAULT_LOCK_TTL", "bogus")
    config.set_lock_ttl(2)
    assert config.get_lock_ttl() == 2.0


@pytest.mark.parametrize("value", [-1, -0.1, float("nan"), "1", True, [1]])
@pytest.mark.parametrize(
    ("setter", "name"),
    [(config.set_lock_ttl, "lock_ttl"), (config.set_lock_blocking_timeout, "lock_blocking_timeout")],
    ids=["ttl", "blocking_timeout"],
)
def test_seconds_setters_reject_invalid_values(setter: Callable[[Any], None], name: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        setter(value)
    assert name in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [None, 1, 0, "true", "yes"])
def test_blocking_setter_rejects_non_bool(value: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        config.set_lock_blocking(value)  # type: ignore[arg-type]  # the invalid value is the point of the test
    assert "lock_blocking" in str(info.value)
    assert repr(value) in str(info.value)


def test_rejected_setter_value_keeps_previous_value() -> None:
    config.set_lock_ttl(4)
    with pytest.raises(ConfigurationError):
        config.set_lock_ttl(-4)
    assert config.get_lock_ttl() == 4.0
