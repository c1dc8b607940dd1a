"""The throttle registry and gating rules.

Example:
    >>> from traffik.registry import GLOBAL_REGISTRY, ThrottleRegistry
    >>> isinstance(GLOBAL_REGISTRY, ThrottleRegistry)
    True
"""

from traffik.registry._glob import compile_path
from traffik.registry._registry import GLOBAL_REGISTRY, ThrottleRegistry
from traffik.registry._rules import BypassThrottleRule, ThrottleRule

__all__ = ["BypassThrottleRule", "GLOBAL_REGISTRY", "ThrottleRegistry", "ThrottleRule", "compile_path"]
