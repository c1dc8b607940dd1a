"""A backend plugin: storage primitives only.

Core runs the strategies atomically around them.
"""

from __future__ import annotations

# --8<-- [start:example]
from typing import Any, ClassVar

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import BackendCapabilities, ThrottleBackend
from traffik.clock import Clock, ManualClock
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.plugins import BackendInfo, PluginRegistry, hookimpl
from traffik.strategies import State


class DictBackend(ThrottleBackend):
    """Keeps states in a dict of ``key -> (state, expires_at)``."""

    NAME: ClassVar[str] = "dict"
    URL_SCHEMES: ClassVar[tuple[str, ...]] = ("dict",)
    # Checked when the first DictBackend is built: declaring a state store without
    # load_state/store_state raises TypeError there, not on the first hit.
    CAPABILITIES: ClassVar[BackendCapabilities] = BackendCapabilities(state_store=True)

    def __init__(
        self, namespace: str = "dict", *, clock: Clock | None = None, **options: Any
    ) -> None:
        super().__init__(namespace, clock=clock, **options)
        self._data: dict[str, tuple[State, float]] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DictBackend:
        if not url.startswith("dict://"):
            raise ConfigurationError(
                f"DictBackend: url must start with 'dict://', got {url!r}"
            )
        return cls(url.removeprefix("dict://") or "dict", **options)

    async def load_state(self, key: str) -> State | None:
        entry = self._data.get(key)
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        self._data[key] = (state, self.clock() + ttl_ms)

    async def clear(self) -> None:
        self._data.clear()  # only this backend's namespace lives here


class DictPlugin:
    """What the plugin's entry module provides.

    Here as an object, registered in code.
    """

    @hookimpl
    def traffik_register_backends(self) -> list[BackendInfo]:
        return [
            BackendInfo(
                name="dict", url_schemes=("dict",), loader=f"{__name__}:DictBackend"
            )
        ]


# --8<-- [end:example]


# --8<-- [start:demo]
async def main() -> None:
    # an installed plugin is found through its entry point
    registry = PluginRegistry(load_entry_points=False)
    registry.register(DictPlugin(), name="dict-plugin")
    backend = registry.backend_from_url("dict://shop", clock=ManualClock())
    assert isinstance(backend, DictBackend)
    assert backend.namespace == "shop"
    assert backend.CAPABILITIES.state_store
    # every strategy takes the generic path
    assert not backend.CAPABILITIES.native_strategies

    throttle = HTTPThrottle("extending:dict", rate="2/min", backend=backend)
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.6", 1),
        }
    )
    async with backend:
        await throttle.hit(request)
        await throttle.hit(request)
        try:
            await throttle.hit(request)
        except ConnectionThrottled:
            pass
        else:
            raise AssertionError("the generic path enforces the limit")


# --8<-- [end:demo]
