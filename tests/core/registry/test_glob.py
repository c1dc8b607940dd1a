"""Path globs: ``*`` one segment, ``**`` any number, anchored; regexes as given."""

from __future__ import annotations

import re

import pytest
from traffik.exceptions import ConfigurationError
from traffik.registry import compile_path


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/api/*", "/api/users", True),
        ("/api/*", "/api/users/1", False),
        ("/api/*", "/api/", False),
        ("/api/*", "/api", False),
        ("/api/*", "/v2/api/users", False),
        ("/api/*/posts", "/api/7/posts", True),
        ("/api/*/posts", "/api/7/8/posts", False),
        ("/api/**", "/api/users/1/posts", True),
        ("/api/**", "/api/users", True),
        ("/api/**", "/api", True),
        ("/api/**", "/apix", False),
        ("/api/**/edit", "/api/a/b/edit", True),
        ("/api/**/edit", "/api/edit", True),
        ("/api/**/edit", "/api/a/b/edit/more", False),
        ("/files/*.txt", "/files/a.txt", True),
        ("/files/*.txt", "/files/a.csv", False),
        ("/files/*.txt", "/files/x/a.txt", False),
        ("/health", "/health", True),
        ("/health", "/health/", False),
        ("/health", "/healthz", False),
        ("/a.b", "/axb", False),  # dots are literal
        ("**", "/anything/at/all", True),
    ],
)
def test_glob(pattern: str, path: str, expected: bool) -> None:
    matcher = compile_path(pattern)
    assert matcher is not None
    assert matcher(path) is expected


def test_regex_is_used_as_given() -> None:
    matcher = compile_path(re.compile(r"^/api/v\d+/"))
    assert matcher is not None
    assert matcher("/api/v2/users")
    assert not matcher("/api/vx/users")
    unanchored = compile_path(re.compile(r"/admin"))
    assert unanchored is not None
    assert unanchored("/x/admin/y")


def test_none_matches_everything() -> None:
    assert compile_path(None) is None


@pytest.mark.parametrize("pattern", ["", "/a/***", 5, re.compile(rb"/bytes")])
def test_malformed_patterns(pattern: object) -> None:
    with pytest.raises(ConfigurationError, match="path"):
        compile_path(pattern, "ThrottleRule")
