"""``Rate.parse`` on anything: it parses or raises ``ConfigurationError`` (a ``ValueError``), nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate

UNITS = ["ms", "s", "sec", "second", "seconds", "m", "min", "mins", "minute", "h", "hr", "hour", "d", "day", "week", ""]
# Rate strings assembled from the grammar's own pieces reach deep into the parser; free text tests its front door.
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "0", "00", "1.5", "1e3", "nan", "inf", "-0", "+1", "٣", "1_000", " 7 "]),
)
PIECES = st.tuples(
    NUMBERS,
    st.sampled_from(["/", " per ", "per", " / ", "//", ":", ""]),
    NUMBERS,
    st.sampled_from(UNITS),
    st.sampled_from(["", " ", "\n", "\x00", "/s", "s"]),
).map(lambda parts: "".join(parts))


def parse_or_configuration_error(text: str) -> Rate | None:
    try:
        return Rate.parse(text)
    except ConfigurationError as exc:
        message = str(exc)
    assert text in message or repr(text) in message  # the message shows the offending string
    return None


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_free_text_parses_or_raises_configuration_error(text: str) -> None:
    parse_or_configuration_error(text)


@settings(max_examples=600, deadline=None)
@given(PIECES)
def test_grammar_shaped_text_parses_or_raises_configuration_error(text: str) -> None:
    rate = parse_or_configuration_error(text)
    if rate is not None and not rate.unlimited:
        assert rate.limit > 0
        assert rate.expire > 0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**6), st.sampled_from(UNITS[:-2])
)
def test_every_valid_rate_round_trips_through_its_parts(limit: int, count: int, unit: str) -> None:
    rate = Rate.parse(f"{limit}/{count}{unit}")
    assert rate.limit == limit
    assert rate == Rate.parse(f"{limit} per {count} {unit}")


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_non_strings_are_a_configuration_error(value: object) -> None:
    with pytest.raises(ConfigurationError, match="string"):
        Rate.parse(value)  # type: ignore[arg-type]  # wrong types on purpose
