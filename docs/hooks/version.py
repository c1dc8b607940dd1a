"""MkDocs hook: the header shows the version of traffik-core the site documents.

mkdocs-material's own version selector (``extra.version``) needs ``mike`` and a
site per release. This site is built from one checkout, so the honest version to
show is the one in that checkout: ``__version__`` of traffik-core, read from
``packages/traffik-core/src/traffik/__about__.py`` (parsed, not imported, so the
build does not depend on what is installed). It is appended to ``site_name``
(the header title and each page's ``<title>``), stored as ``extra.version_label``
for templates, and written in the footer's copyright line. Plugin distributions
have their own versions, listed on the Installation page.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

ABOUT = Path(__file__).resolve().parents[2] / "packages" / "traffik-core" / "src" / "traffik" / "__about__.py"


def core_version(about: Path = ABOUT) -> str:
    """The string assigned to ``__version__`` in ``about``."""
    for node in ast.parse(about.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, str):
                return value
    raise ValueError(f"{about} assigns no string to __version__")


def on_config(config: Any, **kwargs: Any) -> Any:
    """Put the version in the site name, ``extra`` and the footer."""
    version = core_version()
    label = f"traffik-core {version}"
    if not config["site_name"].endswith(version):
        config["site_name"] = f"{config['site_name']} {version}"
    config["extra"]["version_label"] = label
    if not config.get("copyright"):
        config["copyright"] = f"Documentation of {label}"
    return config
