"""Former home of :mod:`traffik.lazy`, kept so plugin releases built against it keep importing.

Plugins import :func:`traffik.lazy.lazy_attributes`; nothing in core uses this module.
"""

from traffik.lazy import lazy_attributes

__all__ = ["lazy_attributes"]
