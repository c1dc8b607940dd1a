"""Where the backend keeps its data in Redis.

Layout, with ``<ns>`` the escaped namespace::

    <ns>:{<key>}:<strategy NAME>                 a strategy's state for one throttle key
    <ns>:{<key>}:fixed-window:<window end>       FixedWindow's count in one window (an integer)
    <ns>:lock:{<name>}                           a lock taken with RedisBackend.lock(name)

* The namespace is escaped (``\\``, ``:``, ``{`` and ``}``), so ``<ns>:`` is a
  prefix of no other namespace's keys and never contains a hash tag;
  ``SCAN MATCH <ns>:*`` finds this namespace's keys and nothing else.
* The throttle key sits inside braces: that is the Redis Cluster hash tag, so
  every key of one decision hashes to one slot, while different throttle keys
  spread over the cluster.
* The strategy name keeps two strategies on one key from reading each other's
  state (their layouts differ).
* FixedWindow keeps a plain counter per window, with the window's end (a whole
  number of ms on the backend's clock) in its key: a new window is a new key, so
  a hit is ``SET NX`` + ``INCRBY`` with no script (see
  :mod:`traffik.backends.redis._fixed_window`). Each such key lives until its
  window's end plus the clock margin.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KeyLayout"]

_NAMESPACE_ESCAPES: Final = str.maketrans({"\\": "\\\\", ":": "\\:", "{": "\\(", "}": "\\)"})
_GLOB_SPECIALS: Final = str.maketrans({char: "\\" + char for char in "\\*?[]^-"})


class KeyLayout:
    """Builds the Redis keys of one namespace.

    Example:
        >>> layout = KeyLayout("api:v1")
        >>> layout.state_key("client-1", "gcra")
        'api\\\\:v1:{client-1}:gcra'
        >>> layout.scan_pattern
        'api\\\\\\\\:v1:*'
    """

    __slots__ = ("prefix", "scan_pattern")

    def __init__(self, namespace: str) -> None:
        self.prefix: str = namespace.translate(_NAMESPACE_ESCAPES) + ":"
        self.scan_pattern: str = self.prefix.translate(_GLOB_SPECIALS) + "*"

    def state_key(self, key: str, strategy_name: str) -> str:
        """The key holding ``strategy_name``'s state for throttle key ``key``."""
        return f"{self.prefix}{{{key}}}:{strategy_name}"

    def window_key(self, key: str, window_end: int) -> str:
        """The key counting FixedWindow's hits on throttle key ``key`` in the window ending at ``window_end`` ms.

        Example:
            >>> KeyLayout("api").window_key("client-1", 1_700_000_060_000)
            'api:{client-1}:fixed-window:1700000060000'
        """
        return f"{self.prefix}{{{key}}}:fixed-window:{window_end}"

    def lock_key(self, name: str) -> str:
        """The key of the lock called ``name``."""
        return f"{self.prefix}lock:{{{name}}}"
