"""A backend's failure state is its own: never inherited by a later backend at the same address."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest
from traffik.error_handlers import _monitor, reset_failure_counts
from traffik.error_handlers._monitor import FAILING, note_failure, note_recovery
from traffik.exceptions import BackendConnectionError

from tests.resilience.conftest import FlakyBackend


@pytest.fixture(autouse=True)
def _clean_monitor() -> Iterator[None]:
    reset_failure_counts()
    yield
    reset_failure_counts()


def test_a_collected_backend_leaves_nothing_failing_behind() -> None:
    backend = FlakyBackend()
    note_failure(backend, BackendConnectionError("refused"))
    assert FAILING
    del backend
    gc.collect()
    # Keyed by a bare id, the entry outlived the backend: the next object at its address
    # inherited its failures (and every hit took the slow "some backend failed" path).
    assert not FAILING


class _Backend:
    """The smallest weakly referable object."""


def test_a_backend_with_another_ones_id_does_not_log_its_recovery(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whether a new object lands on a freed one's address is the allocator's choice, which a
    # test cannot count on: both objects get one id here, as a successor at a failed
    # backend's address would, and only the one that failed may log a recovery.
    failed, successor = _Backend(), _Backend()
    monkeypatch.setattr(_monitor, "id", lambda _: 1, raising=False)
    note_failure(failed, BackendConnectionError("refused"))
    with caplog.at_level(logging.WARNING, logger="traffik"):
        note_recovery(successor)
        assert not [message for message in caplog.messages if "recovered" in message]
        note_recovery(failed)
    assert [message for message in caplog.messages if "recovered" in message] == [
        "_Backend recovered: calls succeed again after 1 failed call"
    ]
    assert not FAILING


def test_a_live_backend_still_logs_its_own_recovery(caplog: pytest.LogCaptureFixture) -> None:
    backend, other = FlakyBackend(), FlakyBackend()
    note_failure(backend, BackendConnectionError("refused"))
    note_failure(backend, BackendConnectionError("refused"))
    with caplog.at_level(logging.WARNING, logger="traffik"):
        note_recovery(other)  # not the one that failed
        note_recovery(backend)
        note_recovery(backend)  # once only
    recovered = [message for message in caplog.messages if "recovered" in message]
    assert recovered == ["FlakyBackend recovered: calls succeed again after 2 failed calls"]
    assert not FAILING


def test_an_object_without_weak_references_is_still_tracked(caplog: pytest.LogCaptureFixture) -> None:
    odd = object()  # no __weakref__: keyed by its id alone, as before
    note_failure(odd, BackendConnectionError("refused"))
    with caplog.at_level(logging.WARNING, logger="traffik"):
        note_recovery(odd)
    assert [message for message in caplog.messages if "recovered" in message] == [
        "object recovered: calls succeed again after 1 failed call"
    ]
