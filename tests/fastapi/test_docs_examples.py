"""The examples of the FastAPI guide (``docs_src/``) run, and the guide shows them verbatim."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from traffik.clock import ManualClock

from .docs_src import decorator, dependencies, middleware, openapi, problem_details, route_class, websocket

DOCS_SRC = Path(__file__).resolve().parent / "docs_src"
GUIDE = Path(__file__).resolve().parents[2] / "packages" / "traffik-fastapi" / "docs" / "fastapi.md"
EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w.]+) -->\n```python\n(?P<code>.*?)```\n", re.DOTALL)


EXAMPLES = (decorator, dependencies, middleware, openapi, problem_details, route_class, websocket)


@pytest.fixture(autouse=True)
def frozen_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' backends read a manual clock: no window can end in the middle of a test."""
    module: ModuleType
    for module in EXAMPLES:
        monkeypatch.setattr(module.backend, "clock", ManualClock(36_000_000.0))


def _guide_examples() -> dict[str, str]:
    return {match["name"]: match["code"] for match in EXAMPLE.finditer(GUIDE.read_text())}


def test_guide_shows_every_example_verbatim() -> None:
    shown = _guide_examples()
    files = {path.name: path.read_text() for path in DOCS_SRC.glob("*.py") if path.name != "__init__.py"}
    assert sorted(shown) == sorted(files)
    for name, code in files.items():
        assert shown[name] == code, f"{GUIDE.name} shows an outdated {name}"


def test_decorator_example() -> None:
    with TestClient(decorator.app) as client:
        item = client.get("/items/3", params={"q": "x"})
        statuses = [client.get("/items/3").status_code for _ in range(5)]
        report = client.get("/report")
    assert item.json() == {"item_id": 3, "q": "x"}
    assert item.headers["x-ratelimit-limit"] == "5"
    assert statuses == [200, 200, 200, 200, 429]
    assert report.text == "all good"
    assert report.headers["x-ratelimit-limit"] == "100"


def test_dependencies_example() -> None:
    with TestClient(dependencies.app) as client:
        statuses = [client.get("/api/search", params={"q": "a"}).status_code for _ in range(3)]
        schema = client.get("/openapi.json").json()
    assert statuses == [200, 200, 429]
    limits = schema["paths"]["/api/search"]["get"]["x-rate-limits"]
    assert [limit["throttle"] for limit in limits] == ["docs:deps:app", "docs:deps:router", "docs:deps:route"]


def test_websocket_example() -> None:
    with TestClient(websocket.app) as client:
        with client.websocket_connect("/chat") as socket:
            replies = []
            for text in ("a", "b", "c", "d"):
                socket.send_text(text)
                replies.append(socket.receive_json())
        assert replies[:3] == [{"type": "echo", "text": t} for t in ("a", "b", "c")]
        assert replies[3]["type"] == "rate_limit"
        for _ in range(9):
            with client.websocket_connect("/chat"):
                pass
        with pytest.raises(WebSocketDenialResponse), client.websocket_connect("/chat"):
            pass


def test_middleware_example() -> None:
    with TestClient(middleware.app) as client:
        responses = [client.get("/api/users/1") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0].headers["x-ratelimit-remaining"] == "1"
    assert responses[2].json() == {"detail": "Too many requests. Retry in 60 seconds."}


def test_route_class_example() -> None:
    with TestClient(route_class.app) as client:
        response = client.get("/text")
    assert response.text == "hello"
    assert response.headers["x-ratelimit-remaining"] == "9"


def test_openapi_example() -> None:
    with TestClient(openapi.app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert "100/min per client" in paths["/public"]["get"]["responses"]["429"]["description"]
    assert "429" not in paths["/internal"]["get"]["responses"]


def test_problem_details_example() -> None:
    with TestClient(problem_details.app) as client:
        statuses = [client.post("/login").status_code for _ in range(4)]
        denied = client.post("/login")
    assert statuses == [200, 200, 200, 429]
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["type"] == "https://example.com/problems/rate-limit"
