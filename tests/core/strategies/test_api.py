"""Names, aliases, parameters and their validation, equality and repr."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import traffik.strategies as strategies_module
from traffik.exceptions import ConfigurationError
from traffik.strategies import (
    DEFAULT_STRATEGY_CLASS,
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)


@pytest.mark.parametrize(
    ("cls", "name"),
    [
        pytest.param(FixedWindow, "fixed-window", id="fixed-window"),
        pytest.param(SlidingWindowCounter, "sliding-window-counter", id="sliding-window-counter"),
        pytest.param(SlidingWindowLog, "sliding-window-log", id="sliding-window-log"),
        pytest.param(TokenBucket, "token-bucket", id="token-bucket"),
        pytest.param(TokenBucketWithDebt, "token-bucket-with-debt", id="token-bucket-with-debt"),
        pytest.param(LeakyBucket, "leaky-bucket", id="leaky-bucket"),
        pytest.param(LeakyBucketWithQueue, "leaky-bucket-with-queue", id="leaky-bucket-with-queue"),
        pytest.param(GCRA, "gcra", id="gcra"),
    ],
)
def test_registry_name_and_compatibility_alias(cls: type[ThrottleStrategy], name: str) -> None:
    assert name == cls.NAME
    assert issubclass(cls, ThrottleStrategy)
    assert getattr(strategies_module, f"{cls.__name__}Strategy") is cls
    instance = cls()
    assert not hasattr(instance, "__dict__"), "strategies use __slots__"


def test_fixed_window_is_the_default() -> None:
    assert DEFAULT_STRATEGY_CLASS is FixedWindow


def test_every_exported_name_exists() -> None:
    assert all(hasattr(strategies_module, name) for name in strategies_module.__all__)


@pytest.mark.parametrize(
    ("build", "parameter", "value"),
    [
        pytest.param(lambda: TokenBucket(burst_size=0), "burst_size", 0, id="burst-zero"),
        pytest.param(lambda: TokenBucket(burst_size=-3), "burst_size", -3, id="burst-negative"),
        pytest.param(lambda: TokenBucket(burst_size=2.5), "burst_size", 2.5, id="burst-float"),  # type: ignore[arg-type]  # invalid on purpose
        pytest.param(lambda: TokenBucket(burst_size=True), "burst_size", True, id="burst-bool"),
        pytest.param(lambda: TokenBucketWithDebt(burst_size="5"), "burst_size", "5", id="debt-burst-str"),  # type: ignore[arg-type]  # invalid on purpose
        pytest.param(lambda: TokenBucketWithDebt(max_debt=-1), "max_debt", -1, id="debt-negative"),
        pytest.param(lambda: TokenBucketWithDebt(max_debt=1.5), "max_debt", 1.5, id="debt-float"),  # type: ignore[arg-type]  # invalid on purpose
        pytest.param(lambda: TokenBucketWithDebt(max_debt=None), "max_debt", None, id="debt-none"),  # type: ignore[arg-type]  # invalid on purpose
        pytest.param(lambda: GCRA(burst_tolerance_ms=-0.5), "burst_tolerance_ms", -0.5, id="tau-negative"),
        pytest.param(lambda: GCRA(burst_tolerance_ms=math.nan), "burst_tolerance_ms", math.nan, id="tau-nan"),
        pytest.param(lambda: GCRA(burst_tolerance_ms=math.inf), "burst_tolerance_ms", math.inf, id="tau-inf"),
        pytest.param(lambda: GCRA(burst_tolerance_ms="10"), "burst_tolerance_ms", "10", id="tau-str"),  # type: ignore[arg-type]  # invalid on purpose
        pytest.param(lambda: GCRA(burst_tolerance_ms=False), "burst_tolerance_ms", False, id="tau-bool"),
    ],
)
def test_invalid_parameters_raise_configuration_error_naming_them(
    build: Callable[[], object], parameter: str, value: object
) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        build()
    message = str(excinfo.value)
    assert parameter in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("strategy", "params"),
    [
        pytest.param(FixedWindow(), {}, id="fixed-window"),
        pytest.param(TokenBucket(), {"burst_size": None}, id="token-bucket"),
        pytest.param(TokenBucket(burst_size=5), {"burst_size": 5}, id="token-bucket-burst"),
        pytest.param(TokenBucketWithDebt(3, max_debt=2), {"burst_size": 3, "max_debt": 2}, id="token-bucket-debt"),
        pytest.param(GCRA(burst_tolerance_ms=250), {"burst_tolerance_ms": 250.0}, id="gcra"),
    ],
)
def test_params_expose_the_configuration(strategy: ThrottleStrategy, params: dict[str, object]) -> None:
    assert strategy.params() == params


def test_equal_parameters_make_equal_hashable_strategies() -> None:
    assert TokenBucket(burst_size=3) == TokenBucket(3)
    assert hash(TokenBucket(burst_size=3)) == hash(TokenBucket(3))
    assert TokenBucket(burst_size=3) != TokenBucket()
    assert GCRA(burst_tolerance_ms=250) == GCRA(burst_tolerance_ms=250.0)
    assert FixedWindow() == FixedWindow()
    assert len({FixedWindow(), FixedWindow(), SlidingWindowLog()}) == 2


def test_different_classes_are_never_equal_even_with_equal_behaviour() -> None:
    assert TokenBucket() != TokenBucketWithDebt()
    assert LeakyBucket() != LeakyBucketWithQueue()


def test_repr_shows_class_and_parameters() -> None:
    assert repr(TokenBucketWithDebt(burst_size=3, max_debt=1)) == "TokenBucketWithDebt(burst_size=3, max_debt=1)"
    assert repr(GCRA()) == "GCRA(burst_tolerance_ms=0.0)"
    assert repr(FixedWindow()) == "FixedWindow()"


def test_parameters_are_read_only() -> None:
    bucket = TokenBucketWithDebt(burst_size=3, max_debt=1)
    with pytest.raises(AttributeError):
        bucket.max_debt = 5  # type: ignore[misc]  # read-only property, assigned on purpose
    assert (bucket.burst_size, bucket.max_debt) == (3, 1)
