"""What the generated checks need besides the reference: names, sample values, instances.

The reference says *what* exists; to check that a documented type is accepted
or that an attribute has its type, the checks need values and instances. This
module is the one place that knows how to make them, keyed by the reference's
own names, so a new entry usually needs nothing here (the generic samples
cover ``int``, ``bool``, literals, callables, ``Rate``...) and a missing piece
fails loudly with the entry's name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from traffik.testing.spec._connections import make_request
from traffik.testing.spec._reference import Reference

__all__ = ["SpecEnvironment"]

# Strings that mean something to the parameter that takes them.
_STRING_SAMPLES: dict[tuple[str, str], str] = {
    ("HTTPThrottle", "rate"): "5/s",
    ("RedisBackend", "url"): "redis://127.0.0.1:6379/0",
    ("ThrottleRule", "path"): "/api/*",
    ("BypassThrottleRule", "path"): "/api/*",
    ("Header", "v"): "42",
}

# Parameters that are only valid together: a lone `seconds=1` is a window with no limit.
_COMPANIONS: dict[str, dict[str, object]] = {"Rate": {"limit": 5, "seconds": 1}}

# Names the reference's examples use without defining them.
_EXAMPLE_NAMES: dict[str, object] = {"ADMIN_KEY": "spec-admin-key"}


async def _async_callable(*args: object, **kwargs: object) -> None:
    """Stands for any documented ``async callable``."""


class SpecEnvironment:
    """Names and sample values for the checks generated from one reference.

    Args:
        reference: The parsed reference; its import statements provide the names.
    """

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self._names: dict[str, Any] | None = None

    # -- names ----------------------------------------------------------------

    @property
    def names(self) -> dict[str, Any]:
        """Every name the reference's import statements bind (imports that fail are left out)."""
        if self._names is None:
            names: dict[str, Any] = {}
            for entry in self.reference.entries:
                for statement in entry.imports:
                    try:
                        exec(statement, names)
                    except ImportError:
                        continue  # the import's own generated test reports it
            names.pop("__builtins__", None)
            self._names = names
        return self._names

    def resolve(self, expression: str) -> Any:
        """Evaluate a name or dotted name from the reference (``Header.LIMIT``)."""
        head, *rest = expression.split(".")
        if head not in self.names:
            raise AssertionError(f"{head!r} is not importable with the reference's import statements")
        value = self.names[head]
        for part in rest:
            value = getattr(value, part)
        return value

    def example_namespace(self) -> dict[str, Any]:
        """What an example block may use: the documented names and a few the examples assume."""
        namespace: dict[str, Any] = dict(self.names)
        namespace.update(_EXAMPLE_NAMES)
        try:
            from fastapi import FastAPI
        except ImportError:
            pass  # examples that need FastAPI fail with a NameError naming it
        else:
            namespace["FastAPI"] = FastAPI
        return namespace

    def literal(self, text: str) -> Any:
        """The value of a default as written in the reference (a literal or a documented name)."""
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return self.resolve(text)

    # -- instances -----------------------------------------------------------

    def _fresh_throttle(self, uid: str = "spec-sample", backend: Any = None) -> Any:
        registry = self.resolve("ThrottleRegistry")()
        return self.resolve("HTTPThrottle")(uid, rate="5/s", backend=backend, registry=registry)

    def required_arguments(self, entry: str) -> dict[str, Any]:
        """Valid values for the parameters ``entry`` documents as required."""
        required = [param for param in self.reference.entry(entry).params if param.required]
        return {param.name: self.samples(entry, param.name, param.type)[0] for param in required}

    def build(self, entry: str, **overrides: Any) -> Any:
        """An instance of ``entry`` from its required arguments and ``overrides``."""
        arguments = self.required_arguments(entry)
        arguments.update(_COMPANIONS.get(entry, {}))
        if "registry" in {param.name for param in self.reference.entry(entry).params}:
            # A private registry, so sample throttles never clash with real ones on their uid.
            arguments["registry"] = self.resolve("ThrottleRegistry")()
        arguments.update(overrides)
        return self.resolve(entry)(**arguments)

    async def instance(self, entry: str) -> Any:
        """An instance whose attributes the checks can read (a real ``stat()`` for ``StrategyStat``)."""
        if entry == "StrategyStat":
            throttle = self._fresh_throttle("spec-stat", backend=self.resolve("InMemoryBackend")())
            # One hit first, so hits remaining (4) differs from the limit (5) and header checks can tell them apart.
            await throttle.hit(make_request())
            return await throttle.stat(make_request())
        if entry == "Rate":
            return self.resolve("Rate").parse("100/min")
        return self.build(entry)

    # -- samples -------------------------------------------------------------

    def samples(self, entry: str, param: str, type_text: str) -> list[Any]:
        """Values of each alternative of a documented type, e.g. ``int \\| async callable``."""
        values: list[Any] = []
        for alternative in (part.strip() for part in type_text.split("|")):
            values.extend(self._sample(entry, param, alternative))
        return values

    def _sample(self, entry: str, param: str, alternative: str) -> list[Any]:
        if alternative.startswith('"') and alternative.endswith('"'):
            return [alternative[1:-1]]
        if alternative == "str":
            return [_STRING_SAMPLES.get((entry, param), "spec")]
        makers: dict[str, Callable[[], list[Any]]] = {
            "int": lambda: [1],
            "float": lambda: [1.5],
            "bool": lambda: [True, False],
            "None": lambda: [None],
            "dict": lambda: [{}],
            "callable": lambda: [_async_callable],
            "async callable": lambda: [_async_callable],
            "Rate": lambda: [self.resolve("Rate").parse("5/s")],
            "ThrottleBackend": lambda: [self.resolve("InMemoryBackend")()],
            "ThrottleStrategy": lambda: [_strategy()],
            "Headers": lambda: [self.resolve("Headers")({})],
            "ThrottleRegistry": lambda: [self.resolve("ThrottleRegistry")()],
            "Iterable[ThrottleRule]": lambda: [[self.resolve("ThrottleRule")()]],
            "Iterable[type[ThrottleStrategy]]": lambda: [[type(_strategy())]],
            "Iterable[str]": lambda: [{"GET", "POST"}],
            "Mapping[str, str]": lambda: [{"free": "10/min", "pro": "1000/min"}],
            "Pattern": lambda: [re.compile(r"^/api/\d+$")],
            "HTTPThrottle": lambda: [self._fresh_throttle()],
            "list[tuple[str, int]]": lambda: [[("127.0.0.1", 11211)]],
        }
        if alternative not in makers:
            raise AssertionError(f"no sample value for documented type {alternative!r} ({entry}.{param})")
        return makers[alternative]()


def _strategy() -> Any:
    from traffik.strategies import FixedWindow

    return FixedWindow()
