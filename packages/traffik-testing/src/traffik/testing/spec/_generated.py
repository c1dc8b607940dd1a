"""Turn a parsed reference into checks: one :class:`SpecCase` per documented promise.

Each case's id names the reference entry (``HTTPThrottle.param[rate]``), so a
failure points at the line of the reference it breaks. Checks raise
``AssertionError`` with the documented and the actual value.
"""

from __future__ import annotations

import builtins
import inspect
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from traffik.testing.spec._environment import SpecEnvironment
from traffik.testing.spec._reference import (
    AttributeDoc,
    ConfigDoc,
    Entry,
    HeaderBuilderDoc,
    MethodDoc,
    ParamDoc,
    Reference,
)

__all__ = ["SpecCase", "generate_cases"]

Check = Callable[[SpecEnvironment], Awaitable[None]]


@dataclass(frozen=True)
class SpecCase:
    """One generated test: ``await case.check(environment)`` raises if the code breaks the promise."""

    id: str
    section: str
    entry: str
    kind: str
    check: Check


def _signature(target: Any, entry: str) -> inspect.Signature:
    try:
        return inspect.signature(target)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{entry}: cannot read its signature: {exc}") from None


def _import_check(statement: str) -> Check:
    async def check(env: SpecEnvironment) -> None:
        exec(statement, {})

    return check


def _example_check(source: str) -> Check:
    async def check(env: SpecEnvironment) -> None:
        exec(compile(source, "<reference example>", "exec"), env.example_namespace())

    return check


def _param_check(entry: str, doc: ParamDoc) -> Check:
    async def check(env: SpecEnvironment) -> None:
        parameters = _signature(env.resolve(entry), entry).parameters
        assert doc.name in parameters, f"{entry} has no parameter {doc.name!r}; it has {list(parameters)}"
        actual = parameters[doc.name].default
        if doc.required:
            assert actual is inspect.Parameter.empty, (
                f"{entry}({doc.name}) is documented required, has default {actual!r}"
            )
        else:
            assert actual is not inspect.Parameter.empty, (
                f"{entry}({doc.name}) has no default; documented {doc.default}"
            )
            expected = env.literal(doc.default)
            assert actual == expected, f"{entry}({doc.name}) default is {actual!r}; documented {doc.default}"
        for value in env.samples(entry, doc.name, doc.type):
            try:
                env.build(entry, **{doc.name: value})
            except Exception as exc:
                raise AssertionError(
                    f"{entry}({doc.name}={value!r}) rejects documented type {doc.type!r}: {exc!r}"
                ) from exc

    return check


def _method_check(entry: str, doc: MethodDoc) -> Check:
    async def check(env: SpecEnvironment) -> None:
        target = env.resolve(entry)
        if not doc.callable:
            instance = await env.instance(entry)
            assert hasattr(instance, doc.name), f"{entry} instances have no attribute {doc.name!r}"
            assert not callable(getattr(instance, doc.name)), f"{entry}.{doc.name} is documented as a value"
            return
        method = getattr(target, doc.name, None)
        assert callable(method), f"{entry} has no method {doc.name!r}"
        if doc.awaitable:
            assert inspect.iscoroutinefunction(method), f"{entry}.{doc.name} is documented with `await`"
        else:
            assert not inspect.iscoroutinefunction(method), f"{entry}.{doc.name} is documented without `await`"
        parameters = _signature(method, f"{entry}.{doc.name}").parameters
        for name, default in doc.keyword_defaults:
            assert name in parameters, f"{entry}.{doc.name} has no parameter {name!r}"
            actual = parameters[name].default
            assert actual == env.literal(default), (
                f"{entry}.{doc.name}({name}) default {actual!r}; documented {default}"
            )

    return check


def _attribute_check(entry: str, doc: AttributeDoc) -> Check:
    async def check(env: SpecEnvironment) -> None:
        instance = await env.instance(entry)
        assert instance is not None, f"no {entry} instance to read {doc.name!r} from"
        assert hasattr(instance, doc.name), f"{entry} has no attribute {doc.name!r}"
        value = getattr(instance, doc.name)
        assert not inspect.ismethod(value), f"{entry}.{doc.name} is a method, documented as an attribute"
        if doc.type:
            expected = _runtime_type(env, doc.type)
            # PEP 484's numeric tower: an int is a valid float.
            numeric = float in expected and isinstance(value, int) and not isinstance(value, bool)
            assert numeric or isinstance(value, expected), f"{entry}.{doc.name} = {value!r}, documented type {doc.type}"

    return check


def _runtime_type(env: SpecEnvironment, text: str) -> Any:
    """The documented type as something ``isinstance`` accepts (``Mapping | None`` -> a union)."""
    from collections.abc import Mapping

    namespace: dict[str, Any] = {"Mapping": Mapping, "Stringable": object, **env.names}
    alternatives = []
    for part in (piece.strip() for piece in text.split("|")):
        if part == "None":
            alternatives.append(type(None))
        elif part in namespace:
            alternatives.append(namespace[part])
        elif isinstance(getattr(builtins, part, None), type):
            alternatives.append(getattr(builtins, part))
        else:
            raise AssertionError(f"cannot check documented type {part!r}")
    return tuple(alternatives)


def _header_check(doc: HeaderBuilderDoc) -> Check:
    async def check(env: SpecEnvironment) -> None:
        from traffik.testing.spec._connections import make_request

        builder = env.resolve(doc.builder)
        try:
            builder()
        except (TypeError, ValueError):
            pass  # `when=` is required, as documented
        else:
            raise AssertionError(f"{doc.builder}() without when= should fail: the reference says all require it")
        stat = await env.instance("StrategyStat")
        request = make_request()
        for when, preset_name in (("always", "DEFAULT_HEADERS_ALWAYS"), ("throttled", "DEFAULT_HEADERS_THROTTLED")):
            header = builder(when=when)
            assert header.when == when, f"{doc.builder}(when={when!r}).when is {header.when!r}"
            value = header.resolve(request, stat, {})
            assert isinstance(value, str), f"{doc.builder} resolved to {value!r}"
            assert value, f"{doc.builder} resolved to an empty value"
            preset = env.resolve(preset_name)
            # The presets hold some of the builders; those must sit under the documented header name.
            if doc.header in preset:
                entry = preset[doc.header]
                assert (entry.when, entry.resolve(request, stat, {})) == (when, value), (
                    f"{preset_name}[{doc.header!r}] is {entry!r}, not {doc.builder}(when={when!r})"
                )

    return check


# Environment text and the value the getter must then return, by documented default.
_ENV_SAMPLES: dict[str, tuple[str, object, object]] = {
    "None": ("2.5", 2.5, 7.0),
    "True": ("false", False, False),
    "False": ("true", True, True),
}


def _config_check(doc: ConfigDoc) -> Check:
    async def check(env: SpecEnvironment) -> None:
        getter, setter = env.resolve(doc.getter), env.resolve(doc.setter)
        reset = env.names.get("reset_config") or _module_reset(getter)
        saved = os.environ.pop(doc.env_var, None)
        try:
            reset()
            expected = env.literal(doc.default)
            assert getter() == expected, (
                f"{doc.getter}() is {getter()!r} with {doc.env_var} unset; documented {doc.default}"
            )
            raw, parsed, set_value = _ENV_SAMPLES[doc.default]
            os.environ[doc.env_var] = raw
            reset()
            assert getter() == parsed, f"{doc.getter}() is {getter()!r} with {doc.env_var}={raw!r}"
            setter(set_value)
            assert getter() == set_value, f"{doc.getter}() is {getter()!r} after {doc.setter}({set_value!r})"
        finally:
            if saved is None:
                os.environ.pop(doc.env_var, None)
            else:
                os.environ[doc.env_var] = saved
            reset()

    return check


def _module_reset(getter: Any) -> Callable[[], None]:
    module = inspect.getmodule(getter)
    reset = getattr(module, "reset_config", None)
    if not callable(reset):
        raise AssertionError(f"{module!r} offers no reset_config() to re-read the environment")
    return reset  # type: ignore[no-any-return]  # checked callable above; the module is untyped here


def _entry_cases(entry: Entry) -> list[tuple[str, str, Check]]:
    name = entry.name
    cases: list[tuple[str, str, Check]] = []
    cases += [(f"{name}.import[{s}]", "import", _import_check(s)) for s in entry.imports]
    cases += [(f"{name}.param[{p.name}]", "param", _param_check(name, p)) for p in entry.params]
    cases += [(f"{name}.method[{m.name}]", "method", _method_check(name, m)) for m in entry.methods]
    cases += [(f"{name}.attr[{a.name}]", "attribute", _attribute_check(name, a)) for a in entry.attributes]
    cases += [(f"{name}.header[{h.builder}]", "header", _header_check(h)) for h in entry.header_builders]
    cases += [(f"{name}.config[{c.env_var}]", "config", _config_check(c)) for c in entry.config]
    cases += [(f"{name}.example[{i}]", "example", _example_check(s)) for i, s in enumerate(entry.examples, 1)]
    return cases


def generate_cases(reference: Reference) -> list[SpecCase]:
    """Every check the reference implies, in document order.

    Example:
        >>> import pathlib, tempfile
        >>> from traffik.testing.spec import parse_reference
        >>> text = "## Rate\\n\\n### `Rate`\\n\\n```python\\nfrom traffik import Rate\\n```\\n"
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = pathlib.Path(folder, "ref.md")
        ...     _ = file.write_text(text)
        ...     [case.id for case in generate_cases(parse_reference(file))]
        ['Rate.import[from traffik import Rate]']
    """
    return [
        SpecCase(case_id, entry.section, entry.name, kind, check)
        for entry in reference.entries
        for case_id, kind, check in _entry_cases(entry)
    ]
