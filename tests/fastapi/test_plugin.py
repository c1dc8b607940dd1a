"""traffik-fastapi registers itself as a framework integration; importing its package stays cheap."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import traffik.decorators
from traffik.decorators import _plugin
from traffik.plugins import IntegrationInfo, PluginRegistry


def test_entry_point_registers_the_fastapi_integration() -> None:
    registry = PluginRegistry()
    assert registry.integrations()["fastapi"] == IntegrationInfo(
        name="fastapi",
        framework="fastapi",
        loader="traffik.decorators:throttled",
        description=_plugin.INTEGRATION.description,
    )
    assert registry.integration("fastapi") is traffik.decorators.throttled


def test_hook_returns_the_integration() -> None:
    assert _plugin.traffik_register_integrations() == [_plugin.INTEGRATION]


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_package_and_discovering_plugins_does_not_import_fastapi() -> None:
    output = _run(
        """
        import sys
        import traffik.decorators
        from traffik.plugins import PluginRegistry
        PluginRegistry().integrations()
        print("fastapi" in sys.modules, "starlette.routing" in sys.modules)
        """
    )
    assert output == "False False"


def test_first_use_of_a_name_imports_it() -> None:
    output = _run(
        """
        import sys
        from traffik.decorators import throttled
        print(throttled.__module__, "fastapi" in sys.modules)
        """
    )
    assert output == "traffik.decorators._decorator True"


def test_public_names_resolve() -> None:
    for name in traffik.decorators.__all__:
        assert getattr(traffik.decorators, name) is not None
    assert sorted(dir(traffik.decorators)) == sorted(traffik.decorators.__all__)
