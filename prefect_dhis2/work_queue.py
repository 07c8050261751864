"""A queue of work items driven by a fixed number of workers, each inside a slot (no Prefect).

The DHIS2 engines (analytics shards, import chunks) run their work through
`run_queue`. The host's request budget is not held here: every request a client sends
holds a slot of its host's budget (`prefect_dhis2.client.budget`; inside Prefect runs
backed by leases of the host's global concurrency limit, `prefect_dhis2.host_limit`),
so the Prefect tasks pass no `slot` and requests made outside a queue (validation
reads, `system/info`, metadata pages) are counted too. A `slot` is for other budgets
a caller wants its workers to hold.

A worker keeps its slot from one item to the next while items are queued, for at most
`hold_s` seconds, instead of releasing it after each item: a release followed at once
by an acquire races with itself, and the Prefect server answers such a denied acquire
with a `Retry-After` of about one average slot occupancy, which would leave the worker
idle for seconds. The host budget keeps its leases the same way, per process rather
than per worker. After `hold_s` the slot is released so that other runs get their turn.

Examples:
    ```python
    async def fetch(shard):
        ...

    await run_queue(WorkQueue(shards), fetch, workers=4)
    ```
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, Generic, TypeVar

__all__ = ["DEFAULT_HOLD_S", "SlotFactory", "WorkQueue", "run_queue"]

_T = TypeVar("_T")

SlotFactory = Callable[[], AbstractAsyncContextManager[Any]]
"""Makes the context manager a worker holds while it works (one slot of a budget)."""

DEFAULT_HOLD_S = 20.0
"""How long a worker may keep its slot across consecutive items."""


class WorkQueue(Generic[_T]):
    """Items to work on; a handler may add more (e.g. the halves of a split shard).

    Examples:
        >>> queue = WorkQueue(["a"])
        >>> queue.add("b")
        >>> queue.take_nowait(), queue.take_nowait(), queue.take_nowait()
        ('a', 'b', None)
    """

    def __init__(self, items: Iterable[_T] = ()) -> None:
        self._items: deque[_T] = deque()
        self._pending = 0  # added and not finished
        self._changed = asyncio.Event()
        for item in items:
            self.add(item)

    def add(self, item: _T) -> None:
        """Queue one more item."""
        self._pending += 1
        self._items.append(item)
        self._changed.set()

    def take_nowait(self) -> _T | None:
        """The next queued item, or None when none is queued right now."""
        return self._items.popleft() if self._items else None

    def finished(self) -> None:
        """Mark one taken item as done."""
        self._pending -= 1
        self._changed.set()

    async def take(self) -> _T | None:
        """The next item, waiting for one; None once every item is done."""
        while True:
            if self._items:
                return self._items.popleft()
            if self._pending == 0:
                return None
            self._changed.clear()
            await self._changed.wait()


def _no_slot() -> AbstractAsyncContextManager[Any]:
    return nullcontext()


async def run_queue(
    queue: WorkQueue[_T] | Iterable[_T],
    handle: Callable[[_T], Awaitable[None]],
    *,
    workers: int,
    slot: SlotFactory | None = None,
    hold_s: float = DEFAULT_HOLD_S,
) -> None:
    """Run `handle` on every item with `workers` concurrent workers, each inside a slot.

    Args:
        queue: The items (a `WorkQueue` lets `handle` add more).
        handle: Works on one item; exceptions other than those it handles
            itself stop the run and are raised.
        workers: Concurrent workers (the block's `max_concurrency`).
        slot: Makes the slot a worker holds while it works; None = no budget
            beyond `workers`.
        hold_s: Longest time a worker keeps its slot across consecutive items.

    Examples:
        >>> import asyncio
        >>> done = []
        >>> async def handle(item):
        ...     done.append(item)
        >>> asyncio.run(run_queue([1, 2, 3], handle, workers=2))
        >>> sorted(done)
        [1, 2, 3]
    """
    work = queue if isinstance(queue, WorkQueue) else WorkQueue(queue)
    make_slot = slot or _no_slot

    async def worker() -> None:
        item = await work.take()
        while item is not None:
            async with make_slot():
                held_since = time.monotonic()
                while item is not None:
                    try:
                        await handle(item)
                    finally:
                        work.finished()
                    if time.monotonic() - held_since > hold_s:
                        break
                    item = work.take_nowait()  # keep the slot while work is queued
            item = await work.take()

    tasks = [asyncio.ensure_future(worker()) for _ in range(max(workers, 1))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
