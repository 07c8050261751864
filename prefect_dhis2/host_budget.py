"""Deprecated: the host budget is `host_limit` (Prefect) over `work_queue` (pure).

`WorkQueue` lives in `prefect_dhis2.work_queue`, `ensure_host_concurrency_limit` and
`host_slot` in `prefect_dhis2.host_limit`; `run_in_host_budget(..., limit_name=name)` is
`run_queue(..., slot=host_slot(name))`. The old names keep working until prefect-dhis2
0.3, with a `DeprecationWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from prefect_dhis2 import work_queue as _work_queue
from prefect_dhis2._deprecation import REMOVED_IN, deprecated_names
from prefect_dhis2.host_limit import host_slot

T = TypeVar("T")

__getattr__ = deprecated_names(
    __name__,
    {
        "WorkQueue": "prefect_dhis2.work_queue",
        "ensure_host_concurrency_limit": "prefect_dhis2.host_limit",
    },
)


async def run_in_host_budget(
    queue: _work_queue.WorkQueue[T] | Iterable[T],
    handle: Callable[[T], Awaitable[None]],
    *,
    workers: int,
    limit_name: str | None = None,
    hold_s: float = _work_queue.DEFAULT_HOLD_S,
) -> None:
    """Deprecated: `run_queue(queue, handle, workers=..., slot=host_slot(limit_name))`."""
    warnings.warn(
        "prefect_dhis2.host_budget.run_in_host_budget is deprecated: use "
        "prefect_dhis2.work_queue.run_queue(..., slot=prefect_dhis2.host_limit.host_slot(name)) "
        f"(the old name is removed in prefect-dhis2 {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=2,
    )
    await _work_queue.run_queue(
        queue, handle, workers=workers, slot=host_slot(limit_name), hold_s=hold_s
    )
