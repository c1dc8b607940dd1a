"""Every example file under ``docs_src/`` runs, and every one is shown on a page.

Each example is a module that ends with ``main()`` (sync or async): the code a
page includes, followed by a run that asserts what the page promises. An
example that talks to Redis or Memcached reads ``REDIS_URL`` /
``MEMCACHED_SERVERS`` from the environment; this test points them at the
suite's servers. Pages show examples with pymdownx.snippets
(``--8<-- "docs_src/..."``), so a page cannot show code that is not run here.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import inspect
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from traffik.testing import MemcachedServer, RedisServer

ROOT = Path(__file__).resolve().parents[2]
DOCS_SRC = ROOT / "docs_src"
DOCS = ROOT / "docs"
EXAMPLES = sorted(DOCS_SRC.rglob("*.py"))
INCLUDE = re.compile(r'--8<--\s+"(docs_src/[^":]+\.py)')
# Files pages may include besides docs_src/: tested by their own suites.
OTHER_INCLUDE = re.compile(r'--8<--\s+"tests/plugins/[^"]+\.py"')


def _example_id(path: Path) -> str:
    return path.relative_to(DOCS_SRC).as_posix()


def _marks(path: Path) -> list[pytest.MarkDecorator]:
    text = path.read_text(encoding="utf-8")
    marks = []
    redis_names = ("REDIS_URL", "REDIS_TLS_URL", "REDIS_CLUSTER_URL", "REDIS_SENTINEL_URL", "RedisServer(")
    if any(name in text for name in redis_names):
        marks.append(pytest.mark.redis)
    if "MEMCACHED_SERVERS" in text:
        marks.append(pytest.mark.memcached)
    return marks


def _run_example(path: Path) -> None:
    # Collect what earlier tests of this worker left for the garbage collector first, with
    # ResourceWarning ignored for that collection only: a socket another suite leaves
    # unclosed must not be reported as this example's (the collection after it still is).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    name = "docs_example_" + re.sub(r"\W", "_", _example_id(path))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        main = getattr(module, "main", None)
        assert callable(main), f"{_example_id(path)} must define main() that runs the example"
        result = main()
        if inspect.isawaitable(result):
            asyncio.run(result)  # type: ignore[arg-type]  # main() is a coroutine function here
    finally:
        del sys.modules[name]
        del module
        # Throttles register weakly by uid: drop this example's before the next one runs.
        gc.collect()


@pytest.fixture(scope="module")
def redis_tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``rediss://...?ssl_ca_certs=...`` of a TLS-only server (see tests/redis/tls.py)."""
    from tests.redis.tls import TlsRedisServer, make_certificates

    server = TlsRedisServer(make_certificates(tmp_path_factory.mktemp("docs-tls")))
    server.start()
    try:
        yield server.ca_url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_cluster_url() -> Iterator[str]:
    """``redis+cluster://`` with the seeds of a 3-primary cluster (see tests/redis/cluster_topology.py)."""
    from tests.redis.cluster_topology import replicated_cluster

    with replicated_cluster(replicas=0) as cluster:
        yield cluster.url


@pytest.fixture(scope="module")
def redis_sentinel_url() -> Iterator[str]:
    """``redis+sentinel://`` of a primary, a replica and a Sentinel (see tests/redis/topologies.py)."""
    from tests.redis.topologies import SentinelTopology

    topology = SentinelTopology.start()
    try:
        yield topology.url
    finally:
        topology.stop()


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("path", [pytest.param(p, id=_example_id(p), marks=_marks(p)) for p in EXAMPLES])
def test_example_runs(path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8")
    if "REDIS_URL" in text:
        redis: RedisServer = request.getfixturevalue("redis_server")
        monkeypatch.setenv("REDIS_URL", redis.url)
    if "REDIS_TLS_URL" in text:
        monkeypatch.setenv("REDIS_TLS_URL", request.getfixturevalue("redis_tls_url"))
    if "REDIS_CLUSTER_URL" in text:
        monkeypatch.setenv("REDIS_CLUSTER_URL", request.getfixturevalue("redis_cluster_url"))
    if "REDIS_SENTINEL_URL" in text:
        monkeypatch.setenv("REDIS_SENTINEL_URL", request.getfixturevalue("redis_sentinel_url"))
    if "MEMCACHED_SERVERS" in text:
        servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        monkeypatch.setenv("MEMCACHED_SERVERS", ",".join(f"{s.host}:{s.port}" for s in servers))
    _run_example(path)


def test_every_example_is_shown_on_a_page() -> None:
    included = {match for page in DOCS.rglob("*.md") for match in INCLUDE.findall(page.read_text(encoding="utf-8"))}
    orphans = sorted(_example_id(p) for p in EXAMPLES if p.relative_to(ROOT).as_posix() not in included)
    assert not orphans, f"examples no page includes: {orphans}"


def test_pages_have_no_unrun_python_blocks() -> None:
    """A ``python`` fence on a page only includes files from ``docs_src/`` (which this suite runs)."""
    fence = re.compile(r"^```(?:python|py|\{\.python[^}]*\})[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
    offenders = []
    for page in sorted(DOCS.rglob("*.md")):
        for body in fence.findall(page.read_text(encoding="utf-8")):
            lines = [line for line in body.splitlines() if line.strip()]
            if not lines or not all(INCLUDE.search(line) or OTHER_INCLUDE.search(line) for line in lines):
                offenders.append(f"{page.relative_to(ROOT)}: {lines[:1]}")
    assert not offenders, f"python blocks that are not runnable docs_src includes: {offenders}"
