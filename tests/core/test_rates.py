"""Rate: construction, parsing, attributes, immutability."""

from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from traffik import Rate
from traffik import rates as rates_module
from traffik.exceptions import ConfigurationError


@pytest.mark.parametrize(
    ("text", "limit", "expire"),
    [
        ("100/min", 100, 60_000),
        ("10/5s", 10, 5_000),
        ("5 per hour", 5, 3_600_000),
        ("20 per 2 mins", 20, 120_000),
        ("3/2 hours", 3, 7_200_000),
        ("1/ms", 1, 1),
        ("50/250ms", 50, 250),
        ("7/s", 7, 1_000),
        ("7/sec", 7, 1_000),
        ("7/second", 7, 1_000),
        ("7/seconds", 7, 1_000),
        ("7/secs", 7, 1_000),
        ("2/m", 2, 60_000),
        ("2/minute", 2, 60_000),
        ("2/minutes", 2, 60_000),
        ("4/h", 4, 3_600_000),
        ("4/hr", 4, 3_600_000),
        ("4/hrs", 4, 3_600_000),
        ("4/hour", 4, 3_600_000),
        ("9/d", 9, 86_400_000),
        ("9/day", 9, 86_400_000),
        ("9/days", 9, 86_400_000),
        ("9 per 3 days", 9, 259_200_000),
        ("  100 / MIN  ", 100, 60_000),
        ("100/Minute", 100, 60_000),
        ("5 PER HOUR", 5, 3_600_000),
        ("1000 per 10 milliseconds", 1000, 10),
    ],
)
def test_parse_accepts_documented_forms(text: str, limit: int, expire: int) -> None:
    rate = Rate.parse(text)
    assert (rate.limit, rate.expire) == (limit, expire)
    assert not rate.unlimited


@pytest.mark.parametrize(
    "text", ["1.5/s", "5/0s", "-1/s", "5/m/s", "1/week", "", "abc", "5", "/s", "5/", "5 per", "5/2"]
)
def test_parse_rejects_invalid_strings_quoting_them(text: str) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Rate.parse(text)
    assert repr(text) in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ConfigurationError, match="100"):
        Rate.parse(100)  # type: ignore[arg-type]  # the wrong type is the point of the test


def test_zero_over_zero_and_default_are_unlimited() -> None:
    assert Rate.parse("0/0").unlimited
    assert Rate().unlimited
    assert Rate() == Rate.parse("0/0")
    assert Rate().rps == math.inf


def test_keyword_construction_sums_the_parts() -> None:
    rate = Rate(limit=10, milliseconds=500, seconds=1, minutes=1, hours=1, days=1)
    assert rate.expire == 500 + 1_000 + 60_000 + 3_600_000 + 86_400_000


def test_derived_attributes() -> None:
    rate = Rate(limit=120, minutes=1)
    assert rate.rps == pytest.approx(2.0)
    assert rate.rpm == pytest.approx(120.0)
    assert rate.rph == pytest.approx(7_200.0)
    assert rate.rpd == pytest.approx(172_800.0)
    assert not rate.is_subsecond
    assert Rate(limit=1, milliseconds=999).is_subsecond
    assert not Rate(limit=1, seconds=1).is_subsecond


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"limit": -1, "seconds": 1}, "limit"),
        ({"limit": 1, "seconds": -1}, "seconds"),
        ({"limit": 1.5, "seconds": 1}, "limit"),
        ({"limit": True, "seconds": 1}, "limit"),
        ({"limit": 1, "minutes": "1"}, "minutes"),
        ({"limit": 5}, "limit=5"),
        ({"limit": 0, "seconds": 5}, "limit=0"),
    ],
)
def test_invalid_keywords_name_the_parameter(kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(ConfigurationError, match=parameter):
        Rate(**kwargs)  # type: ignore[arg-type]  # invalid values on purpose


def test_immutable_and_hashable() -> None:
    rate = Rate.parse("100/min")
    with pytest.raises(AttributeError):
        rate.limit = 5
    with pytest.raises(AttributeError):
        del rate.expire
    assert {Rate(limit=60, minutes=1), Rate(limit=60, seconds=60)} == {rate.__class__(limit=60, minutes=1)}
    assert Rate.parse("100/min") == Rate(limit=100, minutes=1)
    assert Rate.parse("100/min") != Rate.parse("100/h")
    assert pickle.loads(pickle.dumps(rate)) == rate


def test_str_round_trips_through_parse() -> None:
    for text in ["100/min", "10/5s", "5/h", "3/250ms", "9/2d", "0/0"]:
        assert Rate.parse(str(Rate.parse(text))) == Rate.parse(text)


@given(
    limit=st.integers(min_value=1, max_value=10**9),
    count=st.integers(min_value=1, max_value=10**4),
    unit=st.sampled_from(sorted(rates_module._MS_PER_UNIT)),
)
def test_parse_agrees_with_keywords(limit: int, count: int, unit: str) -> None:
    rate = Rate.parse(f"{limit}/{count}{unit}")
    assert rate == Rate(limit=limit, milliseconds=count * rates_module._MS_PER_UNIT[unit])
    assert Rate.parse(str(rate)) == rate


@given(st.text(max_size=30))
def test_parse_only_raises_configuration_errors_quoting_the_input(text: str) -> None:
    error: ConfigurationError | None = None
    try:
        rate = Rate.parse(text)
    except ConfigurationError as exc:
        error = exc
    if error is None:
        assert rate.limit >= 0
    else:
        assert repr(text) in str(error)
