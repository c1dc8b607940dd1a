"""The shipped behavioural contracts, collected here for this repository's own runs.

Outside this repository they run with ``pytest --traffik-spec`` (traffik-testing installed).
"""

from traffik.testing.spec.test_backend_contract import *  # noqa: F403  # re-export the test functions for collection
from traffik.testing.spec.test_throttle_contract import *  # noqa: F403  # re-export the test functions for collection
