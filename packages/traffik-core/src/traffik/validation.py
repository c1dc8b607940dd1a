"""Small declarative validators for constructor arguments (in the spirit of attrs validators).

Every constructor in Traffik checks its arguments at construction and raises
:class:`~traffik.exceptions.ConfigurationError` with one message shape::

    {owner}: {name} must be {description}, got {value!r}

A :class:`Validator` knows what it accepts, how to describe it, and how to
convert an accepted value (``float`` for a number of seconds, for instance).
Validators compose: :func:`optional` also accepts ``None``, :func:`any_of`
accepts what one of several accepts, and :meth:`Validator.described` rewords
the description where a message names a unit or a bound differently.

Example:
    >>> from traffik.validation import optional, positive_number, whole_number
    >>> positive_number(unit="seconds")("RedisBackend", "socket_timeout", 2)
    2.0
    >>> optional(whole_number(min=1))("InMemoryBackend", "max_keys", None) is None
    True
    >>> whole_number(min=1)("InMemoryBackend", "number_of_shards", 0)
    Traceback (most recent call last):
        ...
    traffik.exceptions.ConfigurationError: InMemoryBackend: number_of_shards must be a whole number >= 1, got 0

This module is part of the public plugin API: a third-party backend validates
its own arguments with it, so its errors read like Traffik's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar, cast

from traffik.exceptions import ConfigurationError

__all__ = [
    "Validator",
    "any_of",
    "boolean",
    "callable_",
    "instance_of",
    "invalid",
    "non_empty_string",
    "non_negative_number",
    "one_of",
    "optional",
    "positive_number",
    "whole_number",
]

T = TypeVar("T")
U = TypeVar("U")


def invalid(owner: str, name: str, description: str, value: object) -> ConfigurationError:
    """The error for ``value`` given as ``name`` to ``owner``, which must be ``description``.

    For checks no :class:`Validator` expresses; raise the returned error.

    Example:
        >>> str(invalid("RedisBackend", "cluster", "True or False", 1))
        'RedisBackend: cluster must be True or False, got 1'
    """
    return ConfigurationError(f"{owner}: {name} must be {description}, got {value!r}")


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Validator(Generic[T]):
    """A check of one argument, its description in error messages, and its conversion.

    Call it as ``validator(owner, name, value)``: it returns the (converted)
    value, or raises :class:`~traffik.exceptions.ConfigurationError` naming the
    owner, the parameter and the value.

    Attributes:
        description: What the value must be, as it reads after "must be".
        accepts: Whether a value is valid.
        convert: Applied to an accepted value before it is returned.
    """

    description: str
    accepts: Callable[[object], bool]
    convert: Callable[[Any], T] = _identity

    def __call__(self, owner: str, name: str, value: object) -> T:
        if not self.accepts(value):
            raise invalid(owner, name, self.description, value)
        return self.convert(value)

    def described(self, description: str) -> Validator[T]:
        """The same check with another description (the wording a message has always had)."""
        return replace(self, description=description)


def _is_number(value: object) -> bool:
    # bool is an int subclass, but True is never meant as a number of seconds.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_number(*, unit: str = "", finite: bool = True) -> Validator[float]:
    """A number (not a bool) above 0, returned as a float.

    Args:
        unit: Named in the description: ``unit="seconds"`` reads "a positive number of seconds".
        finite: Also refuse ``inf`` (``nan`` is always refused).
    """

    def accepts(value: object) -> bool:
        if not _is_number(value):
            return False
        number = cast(float, value)
        return number > 0 and (math.isfinite(number) or not finite)

    return Validator(f"a positive number of {unit}" if unit else "a positive number", accepts, float)


def non_negative_number(*, unit: str = "", finite: bool = False, max: float | None = None) -> Validator[float]:
    """A number (not a bool, not ``nan``) of at least 0 (and at most ``max``), returned as a float.

    Args:
        unit: Named in the description: ``unit="seconds"`` reads "a non-negative number of seconds".
        finite: Also refuse ``inf``.
        max: The largest value accepted (``None``: no bound); say it in the description.
    """
    high = max

    def accepts(value: object) -> bool:
        if not _is_number(value):
            return False
        number = cast(float, value)
        return number >= 0 and (math.isfinite(number) or not finite) and (high is None or number <= high)

    return Validator(f"a non-negative number of {unit}" if unit else "a non-negative number", accepts, float)


def whole_number(*, min: int | None = None, max: int | None = None) -> Validator[int]:
    """An ``int`` (not a bool) within ``[min, max]`` (either bound optional).

    Example:
        >>> whole_number(min=0).description
        'a whole number >= 0'
        >>> whole_number(min=1, max=128).description
        'a whole number from 1 to 128'
    """
    low, high = min, max

    def accepts(value: object) -> bool:
        if not _is_int(value):
            return False
        number = cast(int, value)
        return (low is None or number >= low) and (high is None or number <= high)

    if low is not None and high is not None:
        description = f"a whole number from {low} to {high}"
    elif low is not None:
        description = f"a whole number >= {low}"
    elif high is not None:
        description = f"a whole number <= {high}"
    else:
        description = "a whole number"
    return Validator(description, accepts)


boolean: Validator[bool] = Validator("True or False", lambda value: isinstance(value, bool))
"""``True`` or ``False`` exactly (``1`` and ``"yes"`` are refused)."""

non_empty_string: Validator[str] = Validator("a non-empty string", lambda value: isinstance(value, str) and value != "")
"""A ``str`` other than ``""``."""


def callable_(description: str = "callable") -> Validator[Callable[..., Any]]:
    """Any callable; ``description`` can say what it is called with or returns."""
    return Validator(description, callable)


def one_of(*choices: T) -> Validator[T]:
    """One of ``choices`` (compared with ``==``), e.g. ``one_of("fair", "unfair")``.

    Example:
        >>> one_of("fair", "unfair").description
        "'fair' or 'unfair'"
    """
    texts = [repr(choice) for choice in choices]
    description = texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
    allowed = tuple(choices)

    def accepts(value: object) -> bool:
        # `in` on a tuple would also accept 1 for True; compare types too.
        return any(type(value) is type(choice) and value == choice for choice in allowed)

    return Validator(description, accepts)


def instance_of(*classes: type[T], description: str | None = None) -> Validator[T]:
    """An instance of one of ``classes``; the description defaults to "a <Name>" ("a A or a B")."""
    text = description or " or ".join(f"a {cls.__name__}" for cls in classes)
    return Validator(text, lambda value: isinstance(value, classes))


def optional(validator: Validator[T]) -> Validator[T | None]:
    """``None``, or what ``validator`` accepts; the description gains " or None"."""

    def convert(value: Any) -> T | None:
        return None if value is None else validator.convert(value)

    return Validator(
        f"{validator.description} or None",
        lambda value: value is None or validator.accepts(value),
        convert,
    )


def any_of(*validators: Validator[Any], description: str | None = None) -> Validator[Any]:
    """What the first accepting validator accepts, converted by it.

    The description defaults to the others' joined with "or"; give one where
    that reads badly.
    """
    members = tuple(validators)

    def accepts(value: object) -> bool:
        return any(member.accepts(value) for member in members)

    def convert(value: Any) -> Any:
        for member in members:
            if member.accepts(value):
                return member.convert(value)
        raise AssertionError("unreachable: convert is only called on an accepted value")  # pragma: no cover

    return Validator(description or _join(member.description for member in members), accepts, convert)


def _join(parts: Iterable[str]) -> str:
    items = list(parts)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
