"""The worker pool that runs shards and chunks inside the host's budget."""

from __future__ import annotations

import asyncio

import pytest

from prefect_dhis2.host_budget import WorkQueue, run_in_host_budget


async def test_items_added_while_working_are_done_with_bounded_concurrency():
    queue: WorkQueue[int] = WorkQueue([8, 8, 8])
    done: list[int] = []
    running = 0
    peak = 0

    async def handle(item: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        if item > 1:  # split in two, like a refused shard
            queue.add(item // 2)
            queue.add(item // 2)
        else:
            done.append(item)

    await run_in_host_budget(queue, handle, workers=3)
    assert len(done) == 3 * 8
    assert peak == 3


async def test_an_unhandled_error_stops_the_run():
    async def handle(item: int) -> None:
        if item == 2:
            raise RuntimeError("credentials refused")
        await asyncio.sleep(0.01)

    with pytest.raises(RuntimeError, match="credentials refused"):
        await run_in_host_budget(range(10), handle, workers=2)


async def test_an_empty_queue_finishes_at_once():
    await asyncio.wait_for(run_in_host_budget([], lambda item: asyncio.sleep(0), workers=4), 1)
