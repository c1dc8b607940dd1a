"""traffik.locks: fair and unfair locks, blocking rules, TTL revocation, the lock table.

Timeouts and TTLs run on the event loop's clock. These tests run on a loop
whose clock is virtual and jumps straight to the next timer whenever the loop
would otherwise wait, so a 30 s timeout takes no real time at all.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from traffik import config
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConfigurationError, LockTimeoutError
from traffik.locks import AsyncLock, FairLock, LocalLock, LocalLockTable, UnfairLock
from traffik.testing import run_in_virtual_time as run

T = TypeVar("T")


def now() -> float:
    return asyncio.get_running_loop().time()


async def settle() -> None:
    """Let every runnable task run until it blocks (no virtual time passes)."""
    for _ in range(10):
        await asyncio.sleep(0)


LOCK_KINDS = [pytest.param(FairLock, id="fair"), pytest.param(UnfairLock, id="unfair")]


@pytest.fixture(autouse=True)
def clean_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in (
        config.TRAFFIK_DEFAULT_LOCK_TTL,
        config.TRAFFIK_DEFAULT_BLOCKING,
        config.TRAFFIK_DEFAULT_BLOCKING_TIMEOUT,
    ):
        monkeypatch.delenv(variable, raising=False)
    config.reset_config()
    yield
    config.reset_config()


# -- the virtual clock itself -------------------------------------------------


def test_virtual_loop_jumps_over_sleeps() -> None:
    async def main() -> float:
        await asyncio.sleep(30)
        return now()

    assert run(main) == pytest.approx(30.0)


# -- the interface ------------------------------------------------------------


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_locks_follow_the_async_lock_protocol(lock_class: type[LocalLock]) -> None:
    assert isinstance(lock_class("x"), AsyncLock)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_acquire_release_and_locked(lock_class: type[LocalLock]) -> None:
    async def main() -> list[bool]:
        lock = lock_class("x")
        seen = [lock.locked()]
        assert await lock.acquire() is True
        seen.append(lock.locked())
        await lock.release()
        seen.append(lock.locked())
        async with lock as entered:
            assert entered is lock
            seen.append(lock.locked())
        seen.append(lock.locked())
        return seen

    assert run(main) == [False, True, False, True, False]


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_mutual_exclusion_under_contention(lock_class: type[LocalLock]) -> None:
    async def main() -> tuple[int, int]:
        lock = lock_class("x")
        inside = 0
        most_inside = 0
        done = 0

        async def worker() -> None:
            nonlocal inside, most_inside, done
            async with lock:
                inside += 1
                most_inside = max(most_inside, inside)
                await asyncio.sleep(0.001)
                inside -= 1
                done += 1

        await asyncio.gather(*(worker() for _ in range(50)))
        return most_inside, done

    assert run(main) == (1, 50)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_release_without_holding_raises(lock_class: type[LocalLock]) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="not acquired"):
            await lock_class("x").release()

    run(main)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_release_by_another_task_raises(lock_class: type[LocalLock]) -> None:
    async def main() -> None:
        lock = lock_class("x")
        await lock.acquire()
        with pytest.raises(RuntimeError, match="held by another task"):
            await asyncio.create_task(lock.release())
        assert lock.locked()
        await lock.release()

    run(main)


# -- fairness -----------------------------------------------------------------


def test_fair_lock_serves_waiters_in_arrival_order() -> None:
    async def main() -> list[int]:
        lock = FairLock("x")
        order: list[int] = []

        async def worker(n: int) -> None:
            async with lock:
                order.append(n)
                await asyncio.sleep(0.001)

        await lock.acquire()
        tasks = []
        for n in range(10):
            tasks.append(asyncio.create_task(worker(n)))
            await settle()
        await lock.release()
        await asyncio.gather(*tasks)
        return order

    assert run(main) == list(range(10))


async def _barging_scenario(lock: LocalLock) -> list[str]:
    """A waiter queues; the holder releases and asks again at once. Who gets the lock first?"""
    order: list[str] = []

    async def waiter() -> None:
        async with lock:
            order.append("waiter")

    await lock.acquire()
    queued = asyncio.create_task(waiter())
    await settle()
    await lock.release()
    # Re-acquire before the woken waiter has had a chance to run.
    async with lock:
        order.append("newcomer")
    await queued
    return order


def test_fair_lock_hands_off_to_the_waiter_not_a_newcomer() -> None:
    assert run(lambda: _barging_scenario(FairLock("x"))) == ["waiter", "newcomer"]


def test_unfair_lock_lets_a_newcomer_barge() -> None:
    assert run(lambda: _barging_scenario(UnfairLock("x"))) == ["newcomer", "waiter"]


def test_fair_lock_stays_locked_during_hand_off() -> None:
    async def main() -> bool:
        lock = FairLock("x")
        await lock.acquire()
        waiter = asyncio.create_task(lock.acquire())
        await settle()
        await lock.release()
        still_locked = lock.locked()  # owned by the waiter, which has not run yet
        await waiter
        return still_locked

    assert run(main) is True


# -- blocking=False and blocking_timeout --------------------------------------


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_non_blocking_fails_at_once_when_held(lock_class: type[LocalLock]) -> None:
    async def main() -> float:
        lock = lock_class("client-7", blocking=False)
        await lock.acquire()
        start = now()
        with pytest.raises(LockTimeoutError, match="client-7"):
            await asyncio.create_task(lock.acquire())
        return now() - start

    assert run(main) == 0.0


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_non_blocking_succeeds_when_free(lock_class: type[LocalLock]) -> None:
    async def main() -> bool:
        lock = lock_class("x", blocking=False)
        async with lock:
            return lock.locked()

    assert run(main) is True


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_blocking_timeout_raises_after_the_timeout(lock_class: type[LocalLock]) -> None:
    async def main() -> float:
        lock = lock_class("x", blocking_timeout=2.5)
        await lock.acquire()
        start = now()
        with pytest.raises(LockTimeoutError, match=r"within 2\.5 s"):
            await asyncio.create_task(lock.acquire())
        return now() - start

    assert run(main) == pytest.approx(2.5)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_blocking_timeout_not_reached_acquires(lock_class: type[LocalLock]) -> None:
    async def main() -> float:
        lock = lock_class("x", blocking_timeout=5)

        async def hold() -> None:
            async with lock:
                await asyncio.sleep(1)

        holder = asyncio.create_task(hold())
        await settle()
        start = now()
        async with lock:
            waited = now() - start
        await holder
        return waited

    assert run(main) == pytest.approx(1.0)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_zero_blocking_timeout_fails_at_once(lock_class: type[LocalLock]) -> None:
    async def main() -> float:
        lock = lock_class("x", blocking_timeout=0)
        await lock.acquire()
        start = now()
        with pytest.raises(LockTimeoutError):
            await asyncio.create_task(lock.acquire())
        return now() - start

    assert run(main) == 0.0


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_timed_out_waiter_leaves_the_queue(lock_class: type[LocalLock]) -> None:
    async def main() -> list[str]:
        lock = lock_class("x")
        order: list[str] = []

        async def impatient() -> None:
            try:
                await lock.acquire()
            except LockTimeoutError:
                order.append("impatient gave up")

        async def patient() -> None:
            async with lock:
                order.append("patient")

        await lock.acquire()
        # The timeout is read when acquire() starts: only `impatient` gets one.
        config.set_lock_blocking_timeout(1)
        first = asyncio.create_task(impatient())
        await settle()
        config.set_lock_blocking_timeout(None)
        second = asyncio.create_task(patient())
        await first
        await lock.release()
        await second
        return order

    assert run(main) == ["impatient gave up", "patient"]


# -- ttl ----------------------------------------------------------------------


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_ttl_revokes_a_holder_that_keeps_the_lock_too_long(lock_class: type[LocalLock]) -> None:
    async def main() -> tuple[float, bool]:
        lock = lock_class("x", ttl=3)
        stuck_holder_may_exit = asyncio.Event()

        async def stuck() -> None:
            async with lock:  # its release, after revocation, must be a no-op
                await stuck_holder_may_exit.wait()

        holder = asyncio.create_task(stuck())
        await settle()
        start = now()
        await lock.acquire()
        waited = now() - start
        stuck_holder_may_exit.set()
        await holder
        still_ours = lock.locked()
        await lock.release()
        return waited, still_ours

    waited, still_ours = run(main)
    assert waited == pytest.approx(3.0)
    assert still_ours is True


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_ttl_frees_a_lock_nobody_waits_for(lock_class: type[LocalLock]) -> None:
    async def main() -> list[bool]:
        lock = lock_class("x", ttl=1)
        await asyncio.create_task(lock.acquire())  # that task ends without releasing
        seen = [lock.locked()]
        await asyncio.sleep(1.5)
        seen.append(lock.locked())
        return seen

    assert run(main) == [True, False]


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_ttl_timer_of_a_released_hold_does_not_revoke_the_next_holder(lock_class: type[LocalLock]) -> None:
    async def main() -> list[bool]:
        lock = lock_class("x", ttl=5)
        await lock.acquire()
        await asyncio.sleep(1)
        await lock.release()
        await lock.acquire()  # its own TTL ends at t=6
        await asyncio.sleep(4.5)  # t=5.5: the first hold's timer would have fired here
        seen = [lock.locked()]
        await asyncio.sleep(1)  # t=6.5: this hold has now expired
        seen.append(lock.locked())
        return seen

    assert run(main) == [True, False]


def test_fair_lock_ttl_applies_to_handed_off_holders() -> None:
    async def main() -> float:
        lock = FairLock("x", ttl=2)
        await lock.acquire()
        handed = asyncio.create_task(lock.acquire())
        await settle()
        await lock.release()
        await handed  # now held by the finished task `handed`, which never releases
        start = now()
        await lock.acquire()
        return now() - start

    assert run(main) == pytest.approx(2.0)


# -- cancellation -------------------------------------------------------------


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_cancelled_waiter_does_not_block_the_queue(lock_class: type[LocalLock]) -> None:
    async def main() -> list[str]:
        lock = lock_class("x")
        order: list[str] = []

        async def take(name: str) -> None:
            async with lock:
                order.append(name)

        await lock.acquire()
        doomed = asyncio.create_task(take("doomed"))
        await settle()
        survivor = asyncio.create_task(take("survivor"))
        await settle()
        doomed.cancel()
        await settle()
        await lock.release()
        await survivor
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return order

    assert run(main) == ["survivor"]


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_waiter_cancelled_right_after_being_woken_passes_the_lock_on(lock_class: type[LocalLock]) -> None:
    async def main() -> tuple[list[str], bool]:
        lock = lock_class("x")
        order: list[str] = []

        async def take(name: str) -> None:
            async with lock:
                order.append(name)

        await lock.acquire()
        first = asyncio.create_task(take("first"))
        await settle()
        second = asyncio.create_task(take("second"))
        await settle()
        await lock.release()  # wakes (or hands the lock to) `first`...
        first.cancel()  # ...which is cancelled before it gets to run
        await asyncio.gather(first, second, return_exceptions=True)
        return order, lock.locked()

    assert run(main) == (["second"], False)


# -- settings and the global configuration ------------------------------------


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_none_settings_follow_the_global_configuration(lock_class: type[LocalLock]) -> None:
    async def main() -> None:
        lock = lock_class("x")
        await lock.acquire()
        config.set_lock_blocking(False)
        with pytest.raises(LockTimeoutError, match="blocking is off"):
            await asyncio.create_task(lock.acquire())
        config.set_lock_blocking(True)
        config.set_lock_blocking_timeout(4)
        start = now()
        with pytest.raises(LockTimeoutError):
            await asyncio.create_task(lock.acquire())
        assert now() - start == pytest.approx(4.0)
        await lock.release()

        config.set_lock_ttl(2)
        await asyncio.create_task(lock.acquire())
        await asyncio.sleep(2.5)
        assert not lock.locked()

    run(main)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_global_configuration_from_the_environment(
    lock_class: type[LocalLock], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAFFIK_DEFAULT_BLOCKING", "false")

    async def main() -> None:
        lock = lock_class("x")
        await lock.acquire()
        with pytest.raises(LockTimeoutError):
            await asyncio.create_task(lock.acquire())

    run(main)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_explicit_settings_win_over_the_global_configuration(lock_class: type[LocalLock]) -> None:
    config.set_lock_blocking(False)
    config.set_lock_ttl(1)
    config.set_lock_blocking_timeout(1)

    async def main() -> float:
        lock = lock_class("x", blocking=True, ttl=100, blocking_timeout=10)
        await asyncio.create_task(lock.acquire())
        start = now()
        with pytest.raises(LockTimeoutError):
            await asyncio.create_task(lock.acquire())
        return now() - start

    assert run(main) == pytest.approx(10.0)


def test_settings_properties_resolve_the_global_values() -> None:
    lock = UnfairLock("x")
    config.set_lock_blocking(False)
    config.set_lock_ttl(3)
    config.set_lock_blocking_timeout(4)
    assert (lock.blocking, lock.ttl, lock.blocking_timeout) == (False, 3.0, 4.0)
    own = FairLock("y", blocking=True, ttl=5, blocking_timeout=6)
    assert (own.blocking, own.ttl, own.blocking_timeout) == (True, 5.0, 6.0)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
@pytest.mark.parametrize(
    ("name", "value"),
    [("blocking", 1), ("blocking", "yes"), ("ttl", -1), ("ttl", "5"), ("ttl", True), ("ttl", float("nan")),
     ("blocking_timeout", -0.5), ("blocking_timeout", [1])],
)  # fmt: skip
def test_invalid_settings_are_rejected(lock_class: type[LocalLock], name: str, value: object) -> None:
    settings: dict[str, Any] = {name: value}
    with pytest.raises(ConfigurationError) as info:
        lock_class("x", **settings)
    assert name in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("lock_class", LOCK_KINDS)
def test_infinite_settings_mean_no_limit_not_the_global_default(lock_class: type[LocalLock]) -> None:
    config.set_lock_ttl(1)
    config.set_lock_blocking_timeout(1)

    async def main() -> tuple[bool, float]:
        lock = lock_class("x", ttl=float("inf"), blocking_timeout=float("inf"))
        await asyncio.create_task(lock.acquire())
        await asyncio.sleep(3600)
        held = lock.locked()

        async def free_later() -> None:
            await asyncio.sleep(60)
            lock._expire(lock._owner)  # stands in for the holder finally giving up

        freer = asyncio.create_task(free_later())
        start = now()
        await lock.acquire()
        await freer
        return held, now() - start

    held, waited = run(main)
    assert held is True
    assert waited == pytest.approx(60.0)


# -- the lock table -----------------------------------------------------------


def test_table_returns_one_lock_per_name() -> None:
    table = LocalLockTable(kind="unfair")
    a = table.get("a")
    assert table.get("a") is a
    assert table.get("b") is not a


@pytest.mark.parametrize(("kind", "lock_class"), [("fair", FairLock), ("unfair", UnfairLock)])
def test_table_hands_out_locks_of_its_kind_with_its_settings(kind: Any, lock_class: type[LocalLock]) -> None:
    lock = LocalLockTable(kind=kind, blocking=False, ttl=2, blocking_timeout=3).get("a")
    assert type(lock) is lock_class
    assert lock.name == "a"
    assert (lock.blocking, lock.ttl, lock.blocking_timeout) == (False, 2.0, 3.0)


def test_table_drops_locks_nobody_uses() -> None:
    table = LocalLockTable(kind="fair")
    for n in range(1000):
        table.get(f"client-{n}")
    gc.collect()
    assert len(table) == 0


def test_table_keeps_a_lock_while_it_is_held_or_awaited() -> None:
    async def main() -> tuple[int, bool, int]:
        table = LocalLockTable(kind="fair")
        release = asyncio.Event()

        async def hold() -> None:
            async with table.get("busy"):
                await release.wait()

        async def wait_for_it() -> None:
            async with table.get("busy"):
                pass

        holder = asyncio.create_task(hold())
        waiter = asyncio.create_task(wait_for_it())
        await settle()
        gc.collect()
        in_use = len(table)
        same = table.get("busy").locked()  # the held lock, not a fresh one
        release.set()
        await asyncio.gather(holder, waiter)
        gc.collect()
        return in_use, same, len(table)

    assert run(main) == (1, True, 0)


@pytest.mark.parametrize(
    ("kwargs", "name", "value"),
    [({"kind": "round-robin"}, "kind", "round-robin"), ({"kind": None}, "kind", None),
     ({"blocking": "no"}, "blocking", "no"), ({"ttl": -3}, "ttl", -3),
     ({"blocking_timeout": "soon"}, "blocking_timeout", "soon")],
)  # fmt: skip
def test_table_validates_its_settings(kwargs: dict[str, Any], name: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        LocalLockTable(**kwargs)
    assert name in str(info.value)
    assert repr(value) in str(info.value)


def test_base_backend_lock_is_an_unfair_local_lock_with_the_backend_settings() -> None:
    class Minimal(ThrottleBackend):
        NAME = "minimal"

        async def clear(self) -> None:
            return None

    backend = Minimal("ns", lock_blocking=False, lock_ttl=7, lock_blocking_timeout=8)
    lock = backend.lock("k")
    assert type(lock) is UnfairLock
    assert (lock.blocking, lock.ttl, lock.blocking_timeout) == (False, 7.0, 8.0)
    assert backend.lock("k") is lock
