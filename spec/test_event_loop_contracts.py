"""The event-loop contracts, collected here for this repository's own runs.

Kept apart from ``test_contracts.py``: those modules mark every test asyncio, and these are synchronous
(each ``asyncio.run`` is its own event loop). Outside this repository they run with
``pytest --traffik-spec`` (traffik-testing installed).
"""

from traffik.testing.spec.test_event_loops import *  # noqa: F403  # re-export the test functions for collection
