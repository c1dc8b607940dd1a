"""Rates: strings, objects, and the derived attributes."""

from __future__ import annotations

from traffik import Rate
from traffik.exceptions import ConfigurationError

# Strings: "<limit>/<period>" or "<limit> per <period>", with an optional multiplier.
assert Rate.parse("100/min") == Rate(limit=100, minutes=1)
assert Rate.parse("10/5s") == Rate(limit=10, seconds=5)
assert Rate.parse("5 per hour") == Rate(limit=5, hours=1)
assert Rate.parse("20 per 2 mins") == Rate(limit=20, minutes=2)
assert Rate.parse("250/500ms") == Rate(limit=250, milliseconds=500)
assert Rate.parse("1000/day") == Rate(limit=1000, days=1)

# Durations add up; `expire` is the window in milliseconds.
rate = Rate(limit=90, minutes=1, seconds=30)
assert rate.expire == 90_000
assert rate.rps == 1.0
assert rate.rpm == 60.0

assert Rate.parse("10/500ms").is_subsecond
assert Rate().unlimited
assert Rate.parse("0/0").unlimited


def main() -> None:
    for bad in ("1.5/s", "5/0s", "-1/s", "1/week", ""):
        try:
            Rate.parse(bad)
        except ConfigurationError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{bad!r} should be rejected")
        assert repr(bad) in message  # the message quotes the offending string
