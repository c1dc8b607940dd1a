"""Reading an in-memory backend URL: ``memory://`` or ``inmemory://``, with an optional ``?namespace=name``."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from traffik.exceptions import ConfigurationError
from traffik.validation import instance_of

__all__ = ["namespace_from_url", "options_from_url"]

_URL: Final = instance_of(str, description="a string")


def namespace_from_url(url: object, schemes: tuple[str, ...]) -> str | None:
    """The namespace a valid in-memory URL names, or ``None`` if it names none.

    Raises:
        ConfigurationError: Not a string, another scheme, a host or path, or an
            unknown or repeated query parameter.
    """
    url = _URL("InMemoryBackend.from_url", "url", url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigurationError(f"InMemoryBackend.from_url: invalid URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in schemes or not url.lower().startswith(f"{parts.scheme.lower()}://"):
        raise ConfigurationError(f"InMemoryBackend.from_url: expected 'memory://' or 'inmemory://', got {url!r}")
    if parts.netloc or parts.path or parts.fragment:
        raise ConfigurationError(
            f"InMemoryBackend.from_url: an in-memory URL takes no host or path, got {url!r} "
            "(use 'memory://?namespace=name')"
        )
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ConfigurationError(f"InMemoryBackend.from_url: malformed query in {url!r}") from None
    for name, _ in query:
        if name != "namespace":
            raise ConfigurationError(
                f"InMemoryBackend.from_url: unknown query parameter {name!r} in {url!r} (only 'namespace')"
            )
    if len(query) > 1:
        raise ConfigurationError(f"InMemoryBackend.from_url: namespace given more than once in {url!r}")
    return query[0][1] if query else None


def options_from_url(url: object, schemes: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the namespace a valid in-memory URL names, if it names one.

    Raises:
        ConfigurationError: An invalid URL (see :func:`namespace_from_url`), or a
            namespace given both in the URL and in ``options``.
    """
    namespace = namespace_from_url(url, schemes)
    if namespace is None:
        return options
    if "namespace" in options:
        raise ConfigurationError(f"InMemoryBackend.from_url: namespace given both in {url!r} and as a keyword argument")
    return {**options, "namespace": namespace}
