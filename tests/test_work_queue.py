"""The worker pool that runs shards and chunks, each worker inside a slot."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from prefect_dhis2.work_queue import WorkQueue, run_queue


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

    await run_queue(queue, handle, workers=3)
    assert len(done) == 3 * 8
    assert peak == 3


async def test_an_unhandled_error_stops_the_run():
    async def handle(item: int) -> None:
        if item == 2:
            raise RuntimeError("credentials refused")
        await asyncio.sleep(0.01)

    with pytest.raises(RuntimeError, match="credentials refused"):
        await run_queue(range(10), handle, workers=2)


async def test_an_empty_queue_finishes_at_once():
    await asyncio.wait_for(run_queue([], lambda item: asyncio.sleep(0), workers=4), 1)


async def test_every_item_is_worked_on_inside_a_slot():
    held = 0
    peak_held = 0
    outside: list[int] = []

    @asynccontextmanager
    async def slot():
        nonlocal held, peak_held
        held += 1
        peak_held = max(peak_held, held)
        try:
            yield
        finally:
            held -= 1

    async def handle(item: int) -> None:
        if held == 0:
            outside.append(item)
        await asyncio.sleep(0.001)

    await run_queue(range(20), handle, workers=3, slot=slot, hold_s=0.0)
    assert outside == []
    assert 1 <= peak_held <= 3
