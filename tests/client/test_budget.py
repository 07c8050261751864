"""The per-host request budget: shared by every client of the process, and across processes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time

import pytest

from prefect_dhis2.client import AsyncDhis2Client, Dhis2Client
from prefect_dhis2.client.budget import Busy, host_budget
from prefect_dhis2.testing import CostModel


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class CountingSlots:
    """A stand-in for the Prefect limit: `capacity` slots, counted (thread-safe)."""

    def __init__(self, capacity: int, fail: bool = False) -> None:
        self.name = "test-limit"
        self.lease_s = 300.0
        self.capacity = capacity
        self.fail = fail
        self.held = 0
        self.acquired = 0
        self.closed = 0
        self._lock = threading.Condition()

    def acquire(self) -> object:
        if self.fail:
            raise ConnectionError("the Prefect API is not reachable")
        with self._lock:
            if self.held >= self.capacity:
                return Busy(0.05)
            self.held += 1
            self.acquired += 1
            return object()

    def release(self, lease: object) -> None:
        with self._lock:
            self.held -= 1
            self._lock.notify_all()

    def renew(self, lease: object) -> None:
        pass

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def slow_emulator(dhis2_emulator_factory):
    return dhis2_emulator_factory(cost=CostModel(latency_s=0.03))


def test_sync_and_async_clients_in_several_threads_share_one_budget(slow_emulator):
    settings = dataclasses.replace(slow_emulator.credentials().client_settings(), max_concurrency=2)

    def sync_caller() -> None:
        with Dhis2Client(settings) as client:
            for _ in range(8):
                client.get_server_info()

    def async_caller() -> None:
        async def run() -> None:
            async with AsyncDhis2Client(settings) as client:
                await asyncio.gather(*(client.get_server_info() for _ in range(8)))

        asyncio.run(run())

    threads = [threading.Thread(target=f) for f in (sync_caller, async_caller, async_caller)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stats = slow_emulator.state.stats
    assert len(slow_emulator.request_log) == 24
    assert stats.max_open_requests == 2  # used to the full, never beyond
    assert host_budget(settings.base_url).in_flight == 0


def test_a_cancelled_wait_gives_nothing_away():
    budget = host_budget("http://budget-cancel.invalid")

    async def run() -> None:
        async with budget.aslot(limit=1):
            waiter = asyncio.ensure_future(budget.aslot(limit=1).__aenter__())
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        assert budget.in_flight == 0
        async with budget.aslot(limit=1):
            assert budget.in_flight == 1

    asyncio.run(asyncio.wait_for(run(), 10))
    assert budget.in_flight == 0


def test_requests_hold_leases_of_a_shared_budget_and_give_them_back(slow_emulator):
    slots = CountingSlots(capacity=1)  # another process holds the rest of the budget
    settings = dataclasses.replace(
        slow_emulator.credentials().client_settings(), max_concurrency=3, shared_slots=slots
    )

    async def run() -> None:
        async with AsyncDhis2Client(settings) as client:
            await asyncio.gather(*(client.get_server_info() for _ in range(9)))
            for _ in range(5):  # one after another: the lease is kept, not taken again
                await client.get_me(fields="id")
            assert host_budget(settings.base_url).shared == "test-limit"

    asyncio.run(asyncio.wait_for(run(), 60))
    assert slow_emulator.state.stats.max_open_requests == 1
    assert slots.acquired == 1
    wait_for(lambda: slots.held == 0)  # closing the last client gave the lease back
    wait_for(lambda: slots.closed == 1)  # and the keeper closed what it opened


def test_an_unreachable_shared_budget_falls_back_to_the_process_budget(slow_emulator, caplog):
    settings = dataclasses.replace(
        slow_emulator.credentials().client_settings(),
        max_concurrency=2,
        shared_slots=CountingSlots(capacity=1, fail=True),
    )
    with (
        caplog.at_level(logging.WARNING, logger="prefect_dhis2.client"),
        Dhis2Client(settings) as client,
    ):
        assert client.get_server_info().version.minor == 40
    assert "Cannot hold slots of the shared budget 'test-limit'" in caplog.text
