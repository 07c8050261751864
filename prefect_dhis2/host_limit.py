"""One concurrency budget per DHIS2 host, shared by every flow run and worker (Prefect).

Each DHIS2 host gets a Prefect global concurrency limit named by
`host_concurrency_limit_name`, created with the block's `max_concurrency` when missing
and never changed afterwards (an operator may have tuned it for the server).
`host_slot` makes the slots that `prefect_dhis2.work_queue.run_queue` workers hold.

Examples:
    ```python
    name = await ensure_host_concurrency_limit(credentials)
    await run_queue(shards, fetch, workers=4, slot=host_slot(name))
    ```
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prefect_dhis2.markdown import slug
from prefect_dhis2.work_queue import SlotFactory

if TYPE_CHECKING:
    from prefect_dhis2.credentials import Dhis2Credentials

__all__ = ["ensure_host_concurrency_limit", "host_concurrency_limit_name", "host_slot"]


def host_concurrency_limit_name(base_url: str) -> str:
    """The Prefect global concurrency limit shared by every run hitting one DHIS2 host.

    Examples:
        >>> host_concurrency_limit_name("https://play.im.dhis2.org/dev")
        'dhis2-play-im-dhis2-org'
    """
    return "dhis2-" + slug(urlsplit(base_url).netloc)


async def ensure_host_concurrency_limit(credentials: Dhis2Credentials) -> str:
    """Create the host's global concurrency limit if it is missing; return its name.

    Examples:
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


def host_slot(name: str | None) -> SlotFactory | None:
    """Slots of the Prefect global concurrency limit `name` for `run_queue` (None when None).

    Examples:
        ```python
        await run_queue(chunks, send, workers=4, slot=host_slot("dhis2-dhis2-example-org"))
        ```
    """
    if name is None:
        return None
    limit = name

    def slot() -> AbstractAsyncContextManager[Any]:
        from prefect.concurrency.asyncio import concurrency

        return concurrency(limit, occupy=1, strict=False)

    return slot
