"""Where the backend keeps its data in Redis.

Layout, with ``<ns>`` the escaped namespace::

    <ns>:{<key>}:<strategy NAME>     a strategy's state for one throttle key
    <ns>:lock:{<name>}               a lock taken with RedisBackend.lock(name)

* The namespace is escaped (``\\``, ``:``, ``{`` and ``}``), so ``<ns>:`` is a
  prefix of no other namespace's keys and never contains a hash tag;
  ``SCAN MATCH <ns>:*`` finds this namespace's keys and nothing else.
* The throttle key sits inside braces: that is the Redis Cluster hash tag, so
  every key of one decision hashes to one slot, while different throttle keys
  spread over the cluster.
* The strategy name keeps two strategies on one key from reading each other's
  state (their layouts differ). A script may add a suffix to it for a new stored
  layout (``LuaScript.key_suffix``: FixedWindow's hash is ``...:fixed-window:windows``),
  so a key written in an older layout is never misread.
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

    def lock_key(self, name: str) -> str:
        """The key of the lock called ``name``."""
        return f"{self.prefix}lock:{{{name}}}"
