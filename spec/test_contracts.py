"""The shipped behavioural contracts, collected here for this repository's own runs.

Outside this repository they run with ``pytest -p traffik.testing.pytest_plugin --traffik-spec``.
"""

from traffik.testing.spec.test_backend_contract import *  # noqa: F403  # re-export the test functions for collection
from traffik.testing.spec.test_throttle_contract import *  # noqa: F403  # re-export the test functions for collection
