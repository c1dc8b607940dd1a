"""Traffik's spec suite as a pytest plugin, loaded by traffik-testing's ``pytest11`` entry point.

Installing traffik-testing is enough: run the behavioural contracts against
every installed backend (or only yours) with::

    pytest --traffik-spec --traffik-backend=mybackend

Do not also list this module in ``pytest_plugins`` or pass it with ``-p``:
pytest would register it twice and stop with "Plugin already registered".
``-p no:traffik`` turns the plugin off; with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``
set, ``-p traffik`` turns it on. Until a test asks for its fixtures or
``--traffik-spec`` is given, the plugin only adds its options: it does not
even look for the installed backends.

Each backend registered through the ``traffik`` entry points becomes a test
parameter with its own id and marker (``-m redis``). A backend is built with
``BackendClass(namespace=..., persistent=..., clock=...)`` unless a fixture
named ``traffik_backend_builder_<name>`` (``-`` in the name becomes ``_``)
returns a :data:`~traffik.testing.spec.BackendBuilder`; put it in the
``conftest.py`` at your project's root::

    @pytest.fixture
    def traffik_backend_builder_mybackend(tmp_path):
        def build(namespace, persistent, clock):
            return MyBackend(tmp_path / "db", namespace=namespace, persistent=persistent, clock=clock)
        return build

Requires pytest-asyncio (a dependency of traffik-testing).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from traffik.clock import ManualClock
from traffik.testing import MemcachedServer, RedisServer, stop_all
from traffik.testing._pytest_servers import start_servers
from traffik.testing.spec._backends import BackendBuilder, BackendFactory, default_builder
from traffik.testing.spec._generated import SpecCase, generate_cases
from traffik.testing.spec._reference import parse_reference

__all__ = [
    "SPEC_DIRECTORY",
    "traffik_backend",
    "traffik_backend_builder",
    "traffik_backend_builder_memcached",
    "traffik_backend_builder_redis",
    "traffik_clock",
    "traffik_memcached_servers",
    "traffik_redis_server",
]

SPEC_DIRECTORY = Path(__file__).parent / "spec"
"""The shipped contract test modules (``--traffik-spec`` collects them)."""

CLOCK_START_MS = 1_700_000_030_000.0
"""Where every test's clock starts: an epoch-sized time in the middle of a minute."""

_SECTION = "traffik_section"
_BACKEND = "traffik_backend"
_started = time.perf_counter()
_reports: dict[str, tuple[dict[str, str], str]] = {}
_MARKERS = pytest.StashKey[set[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("traffik", "Traffik spec suite")
    group.addoption(
        "--traffik-spec",
        action="store_true",
        default=False,
        help="collect Traffik's behavioural contract tests (traffik.testing.spec)",
    )
    group.addoption(
        "--traffik-backend",
        action="append",
        default=[],
        metavar="NAME",
        help="run contract tests only on this registered backend (repeatable; default: every one)",
    )
    group.addoption(
        "--traffik-reference",
        default=None,
        metavar="PATH",
        help="API reference markdown to generate the reference checks from",
    )


def _option(config: pytest.Config, name: str, default: Any) -> Any:
    # The plugin may be registered after options were parsed (from a conftest): fall back to defaults.
    try:
        return config.getoption(name)
    except ValueError:
        return default


def backend_names(config: pytest.Config) -> list[str]:
    """Registered backends, restricted by ``--traffik-backend``."""
    from traffik.plugins import get_plugin_registry

    registered = list(get_plugin_registry().backends())
    wanted: list[str] = _option(config, "traffik_backend", [])
    unknown = [name for name in wanted if name not in registered]
    if unknown:
        raise pytest.UsageError(f"--traffik-backend {unknown} not registered; registered backends: {registered}")
    return [name for name in registered if not wanted or name in wanted]


def _register_markers(config: pytest.Config, names: list[str]) -> None:
    """One marker per backend (``-m redis``), registered before a test uses it (``--strict-markers``)."""
    registered = config.stash.setdefault(_MARKERS, set())
    for name in names:
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: Traffik contract tests on the {name} backend")
            registered.add(name)


def pytest_configure(config: pytest.Config) -> None:
    # Backends are looked up only when this run asks for the suite: a pytest run that merely
    # has traffik-testing installed must not import every traffik plugin (nor fail on a broken one).
    if _option(config, "traffik_spec", False) or _option(config, "traffik_backend", []):
        _register_markers(config, backend_names(config))
    if _option(config, "traffik_spec", False):
        config.args.append(str(SPEC_DIRECTORY))


def _cases(metafunc: pytest.Metafunc) -> list[SpecCase]:
    path = _option(metafunc.config, "traffik_reference", None) or getattr(metafunc.module, "TRAFFIK_REFERENCE", None)
    if path is None:
        raise pytest.UsageError(f"{metafunc.function.__name__} needs --traffik-reference or TRAFFIK_REFERENCE")
    return generate_cases(parse_reference(path))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "traffik_backend_name" in metafunc.fixturenames:
        names = backend_names(metafunc.config)
        _register_markers(metafunc.config, names)
        params = [pytest.param(name, id=name, marks=getattr(pytest.mark, name)) for name in names]
        metafunc.parametrize("traffik_backend_name", params)
    if "traffik_spec_case" in metafunc.fixturenames:
        cases = _cases(metafunc)
        metafunc.parametrize("traffik_spec_case", cases, ids=[case.id for case in cases])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Label each spec test with its reference section or backend, for the summary."""
    for item in items:
        params = getattr(item, "callspec", None)
        if params is None:
            continue
        case = params.params.get("traffik_spec_case")
        if isinstance(case, SpecCase):
            item.user_properties.append((_SECTION, case.section))
        backend = params.params.get("traffik_backend_name")
        if isinstance(backend, str):
            item.user_properties.append((_BACKEND, backend))
            item.user_properties.append((_SECTION, _contract_section(item)))


def _contract_section(item: pytest.Item) -> str:
    # The function's own module, not the one that re-exports it for collection.
    module = getattr(getattr(item, "obj", None), "__module__", "") or ""
    return f"contracts: {module.rpartition('.')[2]}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    labels = {key: str(value) for key, value in report.user_properties if key in (_SECTION, _BACKEND)}
    if not labels:
        return
    previous = _reports.get(report.nodeid)
    # A test's outcome is its first phase that did not pass (setup error, failure, teardown error).
    if previous is None or (previous[1] == "passed" and report.outcome != "passed"):
        _reports[report.nodeid] = (labels, report.outcome)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not _reports:
        return
    sections: Counter[str] = Counter()
    backends: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for labels, outcome in _reports.values():
        key = labels.get(_SECTION, "?")
        sections[key] += 1
        if _BACKEND in labels:
            backends[labels[_BACKEND]] += 1
        if outcome != "passed":
            failed[key] += 1
    write = terminalreporter.write_line
    terminalreporter.section("traffik spec suite")
    for section, count in sections.items():
        write(f"{section:<48} {count:>5} tests  {failed[section]:>4} not passed")
    for backend, count in sorted(backends.items()):
        write(f"backend {backend:<40} {count:>5} tests")
    write(f"{len(_reports)} spec tests in {time.perf_counter() - _started:.1f} s (whole session)")


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def traffik_redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` for the contract tests of this session (fails in CI if not installed)."""
    server = RedisServer()
    start_servers([server])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def traffik_memcached_servers() -> Iterator[tuple[MemcachedServer, MemcachedServer]]:
    """Two ``memcached`` processes for the contract tests of this session."""
    servers = (MemcachedServer(), MemcachedServer())
    start_servers(list(servers))
    yield servers
    stop_all(servers)


@pytest.fixture
def traffik_backend_builder_redis(traffik_redis_server: RedisServer) -> BackendBuilder:
    """Redis backends on the session's server."""
    from traffik.backends.redis import RedisBackend

    def build(namespace: str, persistent: bool, clock: Any) -> RedisBackend:
        return RedisBackend(traffik_redis_server.url, namespace=namespace, persistent=persistent, clock=clock)

    return build


@pytest.fixture
def traffik_backend_builder_memcached(
    traffik_memcached_servers: tuple[MemcachedServer, MemcachedServer],
) -> BackendBuilder:
    """Memcached backends spread over the session's two servers."""
    from traffik.backends.memcached import MemcachedBackend

    servers = [server.address for server in traffik_memcached_servers]

    def build(namespace: str, persistent: bool, clock: Any) -> MemcachedBackend:
        return MemcachedBackend(servers, namespace=namespace, persistent=persistent, clock=clock)

    return build


@pytest.fixture
def traffik_clock() -> ManualClock:
    """The test's clock; every backend from :func:`traffik_backend` reads it."""
    return ManualClock(CLOCK_START_MS)


@pytest.fixture
def traffik_backend_builder(request: pytest.FixtureRequest, traffik_backend_name: str) -> BackendBuilder:
    """The ``traffik_backend_builder_<name>`` fixture if one exists, else the class's default builder."""
    fixture = "traffik_backend_builder_" + traffik_backend_name.replace("-", "_")
    with contextlib.suppress(pytest.FixtureLookupError):
        builder: BackendBuilder = request.getfixturevalue(fixture)
        return builder
    from traffik.plugins import get_plugin_registry

    return default_builder(get_plugin_registry().backend_class(traffik_backend_name))


@pytest_asyncio.fixture
async def traffik_backend(
    traffik_backend_name: str, traffik_backend_builder: BackendBuilder, traffik_clock: ManualClock
) -> AsyncIterator[BackendFactory]:
    """``traffik_backend(namespace=None, persistent=False)`` builds backends of the parametrized kind."""
    factory = BackendFactory(traffik_backend_name, traffik_backend_builder, traffik_clock)
    yield factory
    await factory.aclose()
