"""The generated API reference covers the contract, and the built site looks as the docs promise.

One strict build of the whole site (what CI runs) to a temporary directory; the
tests read its objects inventory (every object mkdocstrings documented, with the
page it is on) and its HTML.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from mkdocstrings import Inventory

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "spec" / "api-reference.md"
HOOKS = ROOT / "docs" / "hooks"
REFERENCE_PAGES = "reference/"


def _load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with ``mkdocs build --strict`` as CI builds it."""
    directory = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(directory)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return directory


@pytest.fixture(scope="module")
def inventory(site: Path) -> dict[str, str]:
    """Documented object -> the page (and anchor) it is on."""
    with (site / "objects.inv").open("rb") as file:
        parsed = Inventory.parse_sphinx(file)
    return {name: item.uri for name, item in parsed.items()}


# ---- what the contract names ------------------------------------------------------------


def _contract_entries() -> list[tuple[str, str]]:
    """``(### heading, its section text)`` for every entry of the contract."""
    text = CONTRACT.read_text(encoding="utf-8")
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def _imported_names() -> list[str]:
    """Every name the contract's examples import from ``traffik``."""
    text = CONTRACT.read_text(encoding="utf-8")
    names: set[str] = set()
    for group in re.findall(r"^from traffik[.\w]* import (\([^)]*\)|[^\n]+)", text, flags=re.MULTILINE):
        names.update(name.strip() for name in group.strip("()").replace("\n", " ").split(",") if name.strip())
    return sorted(names)


def _members() -> list[str]:
    """``Owner.member`` for the methods, attributes and builders the contract lists under an entry."""
    members: set[str] = set()
    for owner, section in _contract_entries():
        for table in re.findall(r"^\| (?:Method|Attribute|Builder) \|.*?(?=\n\n|\Z)", section, re.M | re.S):
            for cell in re.findall(r"^\| `([^`]+)`", table, flags=re.MULTILINE):
                name = re.sub(r"^await ", "", cell).split("(", 1)[0]
                members.add(name if "." in name else f"{owner}.{name}")
        attributes = re.search(r"\*\*Key attributes:\*\* (.+)", section)
        if attributes is not None:
            members.update(f"{owner}.{name}" for name in re.findall(r"`(\w+)`", attributes.group(1)))
        members.update(re.findall(r"`(Header\.[A-Z_]+)`", section))
    return sorted(members)


def _documented(inventory: dict[str, str], dotted: str) -> list[str]:
    """Where the generated reference documents an object whose path ends with ``dotted``."""
    return [
        uri
        for name, uri in inventory.items()
        if (name == dotted or name.endswith("." + dotted)) and uri.startswith(REFERENCE_PAGES)
    ]


def test_contract_lists_are_found() -> None:
    assert {"HTTPThrottle", "WebSocketThrottle"} <= {name for name, _ in _contract_entries()}
    assert {"get_lock_ttl", "set_lock_blocking_timeout", "MiddlewareThrottle"} <= set(_imported_names())
    assert {"HTTPThrottle.hit", "ThrottleRegistry.add_rules", "Rate.rps", "Header.LIMIT"} <= set(_members())


@pytest.mark.parametrize("name", sorted({name for name, _ in _contract_entries()} | set(_imported_names())))
def test_contract_name_is_documented(name: str, inventory: dict[str, str]) -> None:
    assert _documented(inventory, name), f"{name} is in the contract but on no page of docs/reference/"


@pytest.mark.parametrize("member", _members())
def test_contract_member_is_documented(member: str, inventory: dict[str, str]) -> None:
    assert _documented(inventory, member), f"{member} is in the contract but on no page of docs/reference/"


@pytest.mark.parametrize(
    "dotted",
    [
        "traffik.decorators.install",
        "traffik.decorators.throttled",
        "traffik.throttles.throttled",
        "traffik.middleware.ThrottleMiddleware",
        "traffik.strategies.GCRA",
        "traffik.strategies.TokenBucketWithDebt",
        "traffik.exceptions.ConnectionThrottled",
        "traffik.exceptions.BackendError",
        "traffik.error_handlers.retry",
        "traffik.error_handlers.CircuitBreaker",
        "traffik.headers.DRAFT_RATELIMIT_HEADERS",
        "traffik.identifiers.TrustedProxies",
        "traffik.clock.ManualClock",
    ],
)
def test_names_users_look_for_are_documented(dotted: str, inventory: dict[str, str]) -> None:
    assert inventory.get(dotted, "").startswith(REFERENCE_PAGES), f"{dotted} is on no page of docs/reference/"


@pytest.mark.parametrize(
    "dotted",
    [
        "traffik.backends.redis.RedisBackend",
        "traffik.backends.memcached.MemcachedBackend",
        "traffik.decorators.ThrottledRoute",
        "traffik.prometheus.PrometheusObserver",
        "traffik.opentelemetry.OpenTelemetryObserver",
    ],
)
def test_plugin_distributions_are_merged_into_the_package(dotted: str, inventory: dict[str, str]) -> None:
    """``traffik`` spans several distributions' src/ directories; the reference reads them all."""
    assert inventory.get(dotted, "").startswith(REFERENCE_PAGES)


# ---- how the pages render --------------------------------------------------------------


def test_contract_type_cells_show_plain_pipes(site: Path) -> None:
    html = (site / "api-reference" / "index.html").read_text(encoding="utf-8")
    assert "<code>str | Rate | async callable</code>" in html
    assert "\\|" not in html


def test_escaped_pipes_are_rewritten_only_in_table_code() -> None:
    unescape = _load_hook("table_pipes").unescape_table_pipes
    html = (
        "<table><tr><th>T</th></tr><tr><td><code>str \\| Rate</code> or a\\b</td></tr></table>"
        "<p><code>a \\| b</code></p><pre><code>x = r'\\|'</code></pre>"
    )
    assert unescape(html) == (
        "<table><tr><th>T</th></tr><tr><td><code>str | Rate</code> or a\\b</td></tr></table>"
        "<p><code>a \\| b</code></p><pre><code>x = r'\\|'</code></pre>"
    )


def test_header_links_the_repository_and_each_page_has_an_edit_button(site: Path) -> None:
    html = (site / "quickstart" / "index.html").read_text(encoding="utf-8")
    assert 'href="https://github.com/traffik-dev/traffik"' in html
    assert 'href="https://github.com/traffik-dev/traffik/edit/main/docs/quickstart.md"' in html


def test_header_shows_the_core_version(site: Path) -> None:
    version = _load_hook("version").core_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version)
    html = (site / "quickstart" / "index.html").read_text(encoding="utf-8")
    header = re.search(r'<div class="md-header__topic">\s*<span class="md-ellipsis">\s*([^<]+?)\s*</span>', html)
    assert header is not None
    assert header.group(1) == f"Traffik {version}"


def test_doctest_example_sections_render_as_code(site: Path) -> None:
    rename = _load_hook("griffe_docstrings").rename_example_headings
    assert rename("Summary.\n\n    Example:\n        >>> 1\n") == "Summary.\n\n    Examples:\n        >>> 1\n"
    assert rename("See the Example: below.") == "See the Example: below."
    html = (site / "reference" / "rates" / "index.html").read_text(encoding="utf-8")
    assert "&gt;&gt;&gt;" in html
    assert "<blockquote>" not in html


def test_sphinx_roles_render_as_links_or_code(site: Path) -> None:
    replace = _load_hook("griffe_docstrings").replace_sphinx_roles
    assert replace("See :func:`install`.") == "See `install`."
    assert replace(":class:`~traffik.middleware.ThrottleMiddleware`") == (
        '<autoref identifier="traffik.middleware.ThrottleMiddleware" optional><code>ThrottleMiddleware</code></autoref>'
    )
    pages = sorted((site / "reference").rglob("index.html"))
    assert pages
    assert not [page.parent.name for page in pages if re.search(r":(class|func|meth|attr|mod|data):", page.read_text())]
    throttles = (site / "reference" / "throttles" / "index.html").read_text(encoding="utf-8")
    assert re.search(
        r'<a class="autorefs autorefs-internal"[^>]*href="../middleware/#traffik\.middleware\.ThrottleMiddleware"',
        throttles,
    )
