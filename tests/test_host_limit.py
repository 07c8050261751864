"""The host budget across processes: two workers' flow runs share one Prefect limit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from prefect_dhis2.host_limit import host_concurrency_limit_name, host_slot
from prefect_dhis2.runtime import run_sync
from prefect_dhis2.testing import CostModel

WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path

    from prefect import flow

    from prefect_dhis2 import Dhis2Credentials

    base_url, user, password, barrier, requests = sys.argv[1:6]


    @flow
    def hammer() -> None:
        credentials = Dhis2Credentials(
            base_url=base_url,
            username=user,
            password=password,
            max_concurrency=2,
            share_host_limit=True,
        )
        Path(barrier, user).touch()  # start together: wait for the other worker's flow
        deadline = time.monotonic() + 120
        while len(list(Path(barrier).glob("*[!t]"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        Path(barrier, user + ".start").write_text(repr(time.time()))

        async def run() -> None:
            async with credentials.get_async_client() as client:
                await asyncio.gather(*(client.get_server_info() for _ in range(int(requests))))

        asyncio.run(run())


    hammer()
    """
)


def test_flow_runs_in_two_processes_keep_to_one_budget(
    prefect_server, dhis2_emulator_factory, tmp_path: Path
):
    emulator = dhis2_emulator_factory(cost=CostModel(latency_s=0.03))
    name = host_concurrency_limit_name(emulator.base_url)

    async def create_limit() -> None:
        async with get_client() as client:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=2)
            )

    run_sync(create_limit())
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    users = {"admin": "district", "reader": emulator.state.users.password("reader")}
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, emulator.base_url, user, password, str(barrier), "30"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for user, password in users.items()
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0, output.decode()[-3000:]

    log = list(emulator.request_log)
    by_user = {user: [r for r in log if r.user == user] for user in users}
    assert all(len(records) == 30 for records in by_user.values())
    # Both workers wanted to send at once: each started before the other's last request ...
    for user, other in (("admin", "reader"), ("reader", "admin")):
        started = float((barrier / f"{user}.start").read_text())
        assert started < max(r.started for r in by_user[other])
    # ... and the server never saw more than the budget at once (each worker alone: 2).
    assert emulator.state.stats.max_open_requests <= 2


def test_queue_workers_hold_no_slot_of_their_own():
    """Requests hold the budget: a worker's own slot would count them twice."""
    assert host_slot("dhis2-dhis2-example-org") is None


def test_the_keeper_opens_one_prefect_client_for_all_its_lease_calls(prefect_server, monkeypatch):
    from prefect.client import orchestration

    from prefect_dhis2.host_limit import GlobalLimitSlots

    opened: list[object] = []
    real_get_client = orchestration.get_client

    def counting_get_client(*args: object, **kwargs: object) -> object:
        client = real_get_client(*args, **kwargs)  # type: ignore[call-overload]
        opened.append(client)
        return client

    monkeypatch.setattr(orchestration, "get_client", counting_get_client)
    slots = GlobalLimitSlots("dhis2-one-client-test", limit=2)
    leases = [slots.acquire(), slots.acquire()]
    assert all(isinstance(lease, UUID) for lease in leases)
    for lease in leases:
        slots.renew(lease)
        slots.release(lease)
    assert len(opened) == 1  # a new Prefect client costs tens of ms of CPU per call
    slots.close()
    assert opened[0]._closed  # type: ignore[attr-defined]
    assert isinstance(slots.acquire(), UUID)  # a later call opens a fresh one
    assert len(opened) == 2
    slots.close()


def _pending_ensure(monkeypatch: Any, outcome: BaseException | None = None) -> dict[str, Any]:
    """Replace the Prefect round trip by one that ends only when the test says so."""
    import asyncio

    from prefect_dhis2 import host_limit

    state: dict[str, Any] = {"started": False, "finished": False}

    async def ensure(credentials: Any) -> str:
        state["started"] = True
        await state["release"].wait()
        state["finished"] = True
        if outcome is not None:
            raise outcome
        return host_concurrency_limit_name(credentials.base_url)

    async def setup() -> None:
        state["release"] = asyncio.Event()

    state["setup"] = setup
    monkeypatch.setattr(host_limit, "ensure_host_concurrency_limit", ensure)
    return state


def test_the_body_runs_while_the_limit_is_made_sure_of(monkeypatch: Any) -> None:
    import asyncio

    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.host_limit import _ensure_meanwhile

    state = _pending_ensure(monkeypatch)
    creds = Dhis2Credentials(base_url="https://dhis2.example.org", token="t")

    async def main() -> list[str]:
        await state["setup"]()
        seen = []
        async with _ensure_meanwhile(creds):
            await asyncio.sleep(0)  # the round trip has started, and not finished
            seen.append(f"body ran, ensure started={state['started']} finished={state['finished']}")
            state["release"].set()
        seen.append(f"after the body, ensure finished={state['finished']}")
        return seen

    assert asyncio.run(main()) == [
        "body ran, ensure started=True finished=False",
        "after the body, ensure finished=True",
    ]


def test_an_ensure_error_comes_after_the_body_and_never_hides_the_bodys(monkeypatch: Any) -> None:
    import asyncio

    import pytest

    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.host_limit import _ensure_meanwhile

    creds = Dhis2Credentials(base_url="https://dhis2.example.org", token="t")
    state = _pending_ensure(monkeypatch, RuntimeError("Prefect API unreachable"))

    async def succeeding_body() -> None:
        await state["setup"]()
        async with _ensure_meanwhile(creds):
            state["release"].set()

    with pytest.raises(RuntimeError, match="Prefect API unreachable"):
        asyncio.run(succeeding_body())

    async def failing_body() -> None:
        await state["setup"]()
        async with _ensure_meanwhile(creds):
            state["release"].set()
            raise ValueError("the body's own error")

    with pytest.raises(ValueError, match="the body's own error"):
        asyncio.run(failing_body())
    assert state["finished"]  # awaited, not left pending


def test_disabled_makes_no_round_trip(monkeypatch: Any) -> None:
    import asyncio

    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.host_limit import _ensure_meanwhile

    state = _pending_ensure(monkeypatch)
    creds = Dhis2Credentials(base_url="https://dhis2.example.org", token="t")

    async def main() -> None:
        async with _ensure_meanwhile(creds, enabled=False):
            pass

    asyncio.run(main())
    assert not state["started"]


def test_a_task_and_its_keeper_create_the_host_limit_once(prefect_server, monkeypatch):
    """Both make sure of the limit at the start of a run; two creates at once would make
    the Prefect server fail the second one and log it as an error."""
    import asyncio
    import contextvars
    import threading
    from contextlib import suppress

    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.host_limit import (
        GlobalLimitSlots,
        ensure_host_concurrency_limit,
        host_concurrency_limit_name,
    )

    creds = Dhis2Credentials(
        base_url="https://race.dhis2.example.org",
        username="admin",
        password="district",
        max_concurrency=3,
    )
    name = host_concurrency_limit_name(creds.base_url)
    both_reading = threading.Barrier(2, timeout=1.0)  # without one claim, both read at once
    creates: list[str] = []
    sync_read = SyncPrefectClient.read_global_concurrency_limit_by_name
    sync_create = SyncPrefectClient.create_global_concurrency_limit
    async_read = PrefectClient.read_global_concurrency_limit_by_name
    async_create = PrefectClient.create_global_concurrency_limit

    def read_in_step(self: Any, *args: Any) -> Any:
        with suppress(threading.BrokenBarrierError):
            both_reading.wait()
        return sync_read(self, *args)

    async def aread_in_step(self: Any, *args: Any) -> Any:
        with suppress(threading.BrokenBarrierError):
            both_reading.wait()
        return await async_read(self, *args)

    def counted_create(self: Any, limit: Any) -> Any:
        creates.append(limit.name)
        return sync_create(self, limit)

    async def acounted_create(self: Any, limit: Any) -> Any:
        creates.append(limit.name)
        return await async_create(self, limit)

    monkeypatch.setattr(SyncPrefectClient, "read_global_concurrency_limit_by_name", read_in_step)
    monkeypatch.setattr(SyncPrefectClient, "create_global_concurrency_limit", counted_create)
    monkeypatch.setattr(PrefectClient, "read_global_concurrency_limit_by_name", aread_in_step)
    monkeypatch.setattr(PrefectClient, "create_global_concurrency_limit", acounted_create)

    slots = GlobalLimitSlots(name, limit=3)
    leases: list[object] = []
    context = contextvars.copy_context()  # the keeper sees this test's Prefect API
    keeper = threading.Thread(target=context.run, args=(lambda: leases.append(slots.acquire()),))
    keeper.start()
    assert asyncio.run(ensure_host_concurrency_limit(creds)) == name
    keeper.join(timeout=30)
    assert not keeper.is_alive()
    assert creates == [name]
    assert isinstance(leases[0], UUID)
    slots.release(leases[0])
    slots.close()
