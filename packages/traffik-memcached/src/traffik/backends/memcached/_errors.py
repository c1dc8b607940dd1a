"""Errors of the Memcached backend that callers handle specifically."""

from __future__ import annotations

from traffik.exceptions import BackendError

__all__ = ["NonNumericValueError"]


class NonNumericValueError(BackendError):
    """``incr``/``decr`` met a value that is not a counter (damaged, or written by other software)."""
