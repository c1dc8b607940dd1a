"""traffik.validation: each validator accepts, converts and refuses with the owner, the parameter and the value."""

from __future__ import annotations

import math
from typing import Any

import pytest
from traffik.exceptions import ConfigurationError
from traffik.validation import (
    Validator,
    any_of,
    boolean,
    callable_,
    instance_of,
    invalid,
    non_empty_string,
    non_negative_number,
    one_of,
    optional,
    positive_number,
    whole_number,
)

ACCEPTED: list[tuple[Validator[Any], object, object]] = [
    (positive_number(unit="seconds"), 2, 2.0),
    (positive_number(), 0.5, 0.5),
    (positive_number(finite=False), math.inf, math.inf),
    (non_negative_number(unit="seconds"), 0, 0.0),
    (non_negative_number(), math.inf, math.inf),
    (non_negative_number(max=10), 10, 10.0),
    (whole_number(min=1), 3, 3),
    (whole_number(min=1, max=128), 128, 128),
    (whole_number(), -7, -7),
    (boolean, False, False),
    (non_empty_string, "x", "x"),
    (one_of("fair", "unfair"), "fair", "fair"),
    (instance_of(int, str), "s", "s"),
    (optional(whole_number(min=1)), None, None),
    (optional(positive_number()), 1, 1.0),
    (any_of(one_of("allow"), callable_()), "allow", "allow"),
]


@pytest.mark.parametrize(("validator", "value", "expected"), ACCEPTED, ids=lambda item: repr(item)[:40])
def test_accepts_and_converts(validator: Validator[Any], value: object, expected: object) -> None:
    result = validator("Owner", "param", value)
    assert result == expected
    assert type(result) is type(expected)


REFUSED: list[tuple[Validator[Any], object, str]] = [
    (positive_number(unit="seconds"), 0, "a positive number of seconds"),
    (positive_number(), True, "a positive number"),
    (positive_number(), math.inf, "a positive number"),
    (positive_number(finite=False), math.nan, "a positive number"),
    (non_negative_number(unit="seconds"), -1, "a non-negative number of seconds"),
    (non_negative_number(), math.nan, "a non-negative number"),
    (non_negative_number(finite=True), math.inf, "a non-negative number"),
    (non_negative_number(max=10), 10.5, "a non-negative number"),
    (whole_number(min=1), 0, "a whole number >= 1"),
    (whole_number(min=1), 1.0, "a whole number >= 1"),
    (whole_number(min=0), False, "a whole number >= 0"),
    (whole_number(min=1, max=128), 129, "a whole number from 1 to 128"),
    (whole_number(max=3), 4, "a whole number <= 3"),
    (boolean, 1, "True or False"),
    (non_empty_string, "", "a non-empty string"),
    (non_empty_string, b"x", "a non-empty string"),
    (one_of("fair", "unfair"), "FAIR", "'fair' or 'unfair'"),
    (one_of(True, False), 1, "True or False"),
    (one_of("a", "b", "c"), None, "'a', 'b' or 'c'"),
    (instance_of(int), "1", "a int"),
    (instance_of(int, description="an integer"), "1", "an integer"),
    (callable_("a callable returning milliseconds"), 5, "a callable returning milliseconds"),
    (optional(whole_number(min=1)), 0, "a whole number >= 1 or None"),
    (any_of(one_of("allow"), callable_("a callable")), "deny", "'allow' or a callable"),
    (whole_number(min=1).described("an int >= 1"), 0, "an int >= 1"),
]


@pytest.mark.parametrize(("validator", "value", "description"), REFUSED, ids=lambda item: repr(item)[:40])
def test_refuses_naming_owner_parameter_and_value(validator: Validator[Any], value: object, description: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        validator("Owner", "param", value)
    assert str(caught.value) == f"Owner: param must be {description}, got {value!r}"


def test_invalid_builds_the_same_message() -> None:
    error = invalid("RedisBackend", "cluster", "True or False", "yes")
    assert isinstance(error, ConfigurationError)
    assert str(error) == "RedisBackend: cluster must be True or False, got 'yes'"


def test_optional_keeps_the_inner_conversion() -> None:
    assert optional(positive_number())("Owner", "param", 3) == 3.0
    assert isinstance(optional(positive_number())("Owner", "param", 3), float)
