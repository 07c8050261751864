"""A bounded load test: every bundled flow at once against one emulator with a budget of 2.

The emulator counts the HTTP requests open at once (`ServerStats.max_open_requests`,
from arrival until the last byte leaves, faults and refusals included): it must never
see more than the block's `max_concurrency`, however many runs, tasks and clients of
the process send requests, and every run must complete.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client

from prefect_dhis2.host_limit import host_concurrency_limit_name
from prefect_dhis2.runtime import run_sync
from prefect_dhis2.testing import CostModel

from .flows.every_flow import flow_runs, output_files


def test_eight_flow_runs_at_once_keep_to_a_budget_of_two(
    prefect_server, dhis2_emulator_factory, tmp_path: Path, lease_log: list[object]
):
    leases = lease_log
    emulator = dhis2_emulator_factory(cost=CostModel(latency_s=0.02))
    credentials = emulator.credentials().model_copy(update={"max_concurrency": 2})
    runs = flow_runs(credentials, emulator, tmp_path)
    assert len(runs) == 8
    emulator.state.stats.reset()
    emulator.request_log.clear()

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {name: pool.submit(run) for name, run in runs.items()}
        reports = {name: future.result(timeout=300) for name, future in futures.items()}

    assert all(report is not None for report in reports.values())
    stats = emulator.state.stats
    assert len(emulator.request_log) >= 50  # the runs did overlap on a real amount of work
    assert 1 <= stats.max_open_requests <= 2, stats
    assert stats.open_requests == 0
    assert not [name for name in output_files(tmp_path) if ".tmp" in name]

    async def host_limit() -> tuple[int, int]:
        async with get_client() as client:
            limit = await client.read_global_concurrency_limit_by_name(
                host_concurrency_limit_name(credentials.base_url)
            )
        return limit.limit, limit.active_slots

    assert any(isinstance(lease, UUID) for lease in leases)
    # The runs held leases of the host's Prefect limit and give every one back
    # (the keeper thread does that just after the last client closes).
    deadline = time.monotonic() + 30
    while run_sync(host_limit()) != (2, 0):
        assert time.monotonic() < deadline, run_sync(host_limit())
        time.sleep(0.1)
