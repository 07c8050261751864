"""One concurrency budget per DHIS2 server, shared by every flow run and worker.

Each DHIS2 host gets a Prefect global concurrency limit named by
`host_concurrency_limit_name` (created with the block's `max_concurrency` if
missing, never changed afterwards). `run_in_host_budget` drives a queue of
work items (analytics shards, import chunks) with a fixed number of workers;
each worker holds one slot of the host's limit while it works.

A worker keeps its slot from one item to the next while items are queued,
for at most `hold_s` seconds, instead of releasing it after each item: a
release followed at once by an acquire races with itself, and the Prefect
server answers such a denied acquire with a `Retry-After` of about one
average slot occupancy, which would leave the worker idle for seconds. Every
request still runs inside a slot, so the number of requests in flight on the
host never exceeds the limit; after `hold_s` the slot is released so that
other runs get their turn.

Example:
    ```python
    name = await ensure_host_concurrency_limit(credentials)

    async def fetch(shard):
        ...

    await run_in_host_budget(shards, fetch, workers=4, limit_name=name)
    ```
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext, suppress
from typing import Any, Generic, TypeVar

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.flow_support import host_concurrency_limit_name

__all__ = ["WorkQueue", "ensure_host_concurrency_limit", "host_slot", "run_in_host_budget"]

T = TypeVar("T")

DEFAULT_HOLD_S = 20.0
"""How long a worker may keep its slot across consecutive items."""


async def ensure_host_concurrency_limit(credentials: Dhis2Credentials) -> str:
    """Create the host's global concurrency limit if it is missing; return its name.

    The limit is created with the block's `max_concurrency`; an existing limit
    is never changed (an operator may have tuned it for the server).

    Example:
        ```python
        name = await ensure_host_concurrency_limit(credentials)  # 'dhis2-dhis2-example-org'
        ```
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = host_concurrency_limit_name(credentials.base_url)
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it first
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=credentials.max_concurrency)
                )
    return name


def host_slot(name: str | None) -> AbstractAsyncContextManager[Any]:
    """Hold one slot of the Prefect global concurrency limit `name` (nothing when None).

    Example:
        ```python
        async with host_slot("dhis2-dhis2-example-org"):
            ...  # requests to that host
        ```
    """
    if name is None:
        return nullcontext()
    from prefect.concurrency.asyncio import concurrency

    return concurrency(name, occupy=1, strict=False)


class WorkQueue(Generic[T]):
    """Items to work on; a handler may add more (e.g. the halves of a split shard).

    Example:
        ```python
        queue = WorkQueue(shards)
        queue.add(extra_shard)
        ```
    """

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: deque[T] = deque()
        self._pending = 0  # added and not finished
        self._changed = asyncio.Event()
        for item in items:
            self.add(item)

    def add(self, item: T) -> None:
        """Queue one more item."""
        self._pending += 1
        self._items.append(item)
        self._changed.set()

    def take_nowait(self) -> T | None:
        """The next queued item, or None when none is queued right now."""
        return self._items.popleft() if self._items else None

    def finished(self) -> None:
        """Mark one taken item as done."""
        self._pending -= 1
        self._changed.set()

    async def take(self) -> T | None:
        """The next item, waiting for one; None once every item is done."""
        while True:
            if self._items:
                return self._items.popleft()
            if self._pending == 0:
                return None
            self._changed.clear()
            await self._changed.wait()


async def run_in_host_budget(
    queue: WorkQueue[T] | Iterable[T],
    handle: Callable[[T], Awaitable[None]],
    *,
    workers: int,
    limit_name: str | None = None,
    hold_s: float = DEFAULT_HOLD_S,
) -> None:
    """Run `handle` on every item with `workers` concurrent workers inside the host budget.

    Args:
        queue: The items (a `WorkQueue` lets `handle` add more).
        handle: Works on one item; exceptions other than those it handles
            itself stop the run and are raised.
        workers: Concurrent workers (the block's `max_concurrency`).
        limit_name: The host's global concurrency limit; None = no Prefect limit.
        hold_s: Longest time a worker keeps its slot across consecutive items.
    """
    work = queue if isinstance(queue, WorkQueue) else WorkQueue(queue)

    async def worker() -> None:
        item = await work.take()
        while item is not None:
            async with host_slot(limit_name):
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
