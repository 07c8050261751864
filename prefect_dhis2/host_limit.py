"""One concurrency budget per DHIS2 host, shared by every flow run and worker (Prefect).

Each DHIS2 host gets a Prefect global concurrency limit named by
`host_concurrency_limit_name`, created with the block's `max_concurrency` when missing
and never changed afterwards (an operator may have tuned it for the server).

Every request to a host holds a slot of that host's budget: within one process the
clients share `prefect_dhis2.client.budget.HostBudget`; inside a Prefect flow or task
run, `Dhis2Credentials.get_client()` and `get_async_client()` also give the client the
host's limit as `GlobalLimitSlots`, so the process holds leases on slots of the limit
and sends no more requests than it holds leases. The leases are taken when requests
wait, kept while requests follow each other and given back when unused (see the budget
module for why this avoids the `Retry-After` penalty of one acquire per request).

Examples:
    ```python
    name = await ensure_host_concurrency_limit(credentials)  # 'dhis2-dhis2-example-org'
    with credentials.get_client() as client:  # inside a flow run: holds leases of `name`
        client.get_server_info()
    ```
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import UUID

import httpx

from prefect_dhis2.client.budget import Busy
from prefect_dhis2.markdown import slug
from prefect_dhis2.work_queue import SlotFactory

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

    from prefect_dhis2.credentials import Dhis2Credentials

__all__ = [
    "GlobalLimitSlots",
    "ensure_host_concurrency_limit",
    "host_concurrency_limit_name",
    "host_slot",
    "shared_host_slots",
]

_MAX_POLL_S = 5.0
"""Longest wait between two attempts at a taken slot, whatever the server suggests."""
_LEASE_S = 60.0
"""Seconds a lease lives unless renewed (the keeper renews it every third of that): a
lease lost by a crashed process, or granted to an attempt whose answer timed out and
was retried, frees its slot within a minute."""


def host_concurrency_limit_name(base_url: str) -> str:
    """The Prefect global concurrency limit shared by every run hitting one DHIS2 host.

    Examples:
        >>> host_concurrency_limit_name("https://play.im.dhis2.org/dev")
        'dhis2-play-im-dhis2-org'
    """
    return "dhis2-" + slug(urlsplit(base_url).netloc)


_CREATE_WAIT_S = 30.0
"""Longest wait for another thread's creation of the same limit."""
_CREATING: dict[tuple[str, str], threading.Event] = {}
_CREATING_LOCK = threading.Lock()


def _creation_key(name: str) -> tuple[str, str]:
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url or ""), name


def _start_creating(name: str) -> threading.Event | None:
    """Claim the read-then-create of limit `name`; None when another thread has it.

    A task makes sure of the host's limit while its client's keeper thread, taking
    the first lease, does the same: both would find it missing, and the second
    create fails on the Prefect server (handled here, but logged there as an error
    with a traceback). One read-then-create at a time per limit and Prefect API.
    """
    key = _creation_key(name)
    with _CREATING_LOCK:
        if key in _CREATING:
            return None
        event = _CREATING[key] = threading.Event()
        return event


def _done_creating(name: str, event: threading.Event) -> None:
    key = _creation_key(name)
    with _CREATING_LOCK:
        if _CREATING.get(key) is event:
            del _CREATING[key]
    event.set()


def _wait_creating(name: str, timeout: float = _CREATE_WAIT_S) -> None:
    with _CREATING_LOCK:
        event = _CREATING.get(_creation_key(name))
    if event is not None:
        event.wait(timeout)


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
    creating = _start_creating(name)
    if creating is None:  # the keeper of this process is creating it: wait for that
        await asyncio.to_thread(_wait_creating, name)
        return name
    try:
        async with get_client() as client:
            try:
                await client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                with suppress(ObjectAlreadyExists):  # another process created it first
                    await client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=credentials.max_concurrency)
                    )
    finally:
        _done_creating(name, creating)
    return name


@asynccontextmanager
async def _ensure_meanwhile(
    credentials: Dhis2Credentials, enabled: bool = True
) -> AsyncIterator[None]:
    """Make sure of the host's global limit while the body runs, not before it.

    The body's requests take their leases through the client, whose keeper creates
    the limit itself when it is missing, so nothing needs to wait for this Prefect
    round trip; an error of it is raised after the body, unless the body failed.

    Args:
        credentials: The DHIS2 instance.
        enabled: False = do nothing (the task's `use_host_limit=False`).

    Examples:
        ```python
        async with _ensure_meanwhile(credentials):
            extract = await afetch_analytics_table(client, query)
        ```
    """
    ensured = asyncio.ensure_future(ensure_host_concurrency_limit(credentials)) if enabled else None
    try:
        yield
    except BaseException:
        if ensured is not None:
            with suppress(BaseException):
                await ensured
        raise
    if ensured is not None:
        await ensured


def host_slot(name: str | None) -> SlotFactory | None:
    """No slot: kept for callers of `run_queue`; the requests hold the host's budget.

    Until 0.2 a `run_queue` worker held a slot of the limit `name` while it worked.
    Now every request holds one (see the module docstring), so a worker's own slot
    would count its requests twice; this returns None, `run_queue`'s "no slot".

    Examples:
        >>> host_slot("dhis2-dhis2-example-org") is None
        True
    """
    del name
    return None


class GlobalLimitSlots:
    """Slots of a Prefect global concurrency limit, as leases (a `SharedSlots`).

    The limit is created with `limit` slots on first use when it does not exist.
    Calls of Prefect's sync client, made by the host budget's keeper thread.

    Args:
        name: The limit's name.
        limit: Its size when it has to be created.

    Examples:
        ```python
        slots = GlobalLimitSlots("dhis2-dhis2-example-org", limit=4)
        lease = slots.acquire()  # a lease id, or Busy(retry_after_s) when all are taken
        slots.release(lease)
        ```
    """

    def __init__(self, name: str, limit: int, lease_s: float = _LEASE_S) -> None:
        self._name = name
        self._limit = limit
        self._lease_s = lease_s
        self._ensured = False
        self._local = threading.local()

    def _client(self) -> SyncPrefectClient:
        """The calling thread's Prefect client, opened on first use and kept until `close`.

        The keeper thread makes every call, and a new client costs tens of
        milliseconds of CPU, so one serves the keeper's whole life. It is its own
        client, not the run's cached one, which is closed when that run ends while
        the keeper may still have leases to give back (other `httpx_settings` than
        the cached client's make `get_client` build a fresh one).
        """
        client: SyncPrefectClient | None = getattr(self._local, "client", None)
        if client is None:
            from prefect.client.orchestration import get_client

            client = get_client(sync_client=True, httpx_settings={})
            client.__enter__()
            self._local.client = client
        return client

    def close(self) -> None:
        """Close the calling thread's Prefect client (the keeper is done with the slots)."""
        client: SyncPrefectClient | None = getattr(self._local, "client", None)
        if client is not None:
            self._local.client = None
            with suppress(Exception):
                client.__exit__(None, None, None)

    def __repr__(self) -> str:
        return f"GlobalLimitSlots({self._name!r})"

    @property
    def name(self) -> str:
        """The limit's name."""
        return self._name

    @property
    def lease_s(self) -> float:
        """Seconds a lease lives without renewal."""
        return self._lease_s

    def _ensure(self, client: SyncPrefectClient) -> None:
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
        from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

        if self._ensured:
            return
        creating = _start_creating(self._name)
        if creating is None:  # a task of this process is creating it: wait for that
            _wait_creating(self._name)
        else:
            try:
                client.read_global_concurrency_limit_by_name(self._name)
            except ObjectNotFound:
                with suppress(ObjectAlreadyExists):  # another process created it first
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=self._name, limit=self._limit)
                    )
            finally:
                _done_creating(self._name, creating)
        self._ensured = True

    def acquire(self) -> UUID | Busy | None:
        """One attempt at a slot: its lease id, `Busy` (with the server's `Retry-After`)."""
        client = self._client()
        self._ensure(client)
        try:
            response = client.increment_concurrency_slots_with_lease(
                names=[self._name], slots=1, mode="concurrency", lease_duration=self._lease_s
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != httpx.codes.LOCKED:
                raise
            retry_after = float(exc.response.headers.get("Retry-After") or 1.0)
            return Busy(min(max(retry_after, 0.1), _MAX_POLL_S))
        data = response.json()
        if not data.get("limits"):  # deleted since: nothing to share
            with suppress(Exception):
                client.release_concurrency_slots_with_lease(UUID(str(data["lease_id"])))
            return None
        return UUID(str(data["lease_id"]))

    def release(self, lease: object) -> None:
        """Give the slot of `lease` back."""
        self._client().release_concurrency_slots_with_lease(lease_id=UUID(str(lease)))

    def renew(self, lease: object) -> None:
        """Extend `lease` by `lease_s`."""
        self._client().renew_concurrency_lease(
            lease_id=UUID(str(lease)), lease_duration=self._lease_s
        )


_SLOTS: dict[tuple[str, int], GlobalLimitSlots] = {}
_SLOTS_LOCK = threading.Lock()


def shared_host_slots(credentials: Dhis2Credentials) -> GlobalLimitSlots | None:
    """The host's global limit as `SharedSlots` inside a Prefect run; None outside one.

    Outside a flow or task run (a script, a notebook) there is no Prefect server to
    share with, and the process's own budget applies.

    Examples:
        ```python
        settings = replace(credentials.client_settings(), shared_slots=shared_host_slots(credentials))
        ```
    """
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return None
    key = (host_concurrency_limit_name(credentials.base_url), credentials.max_concurrency)
    with _SLOTS_LOCK:
        slots = _SLOTS.get(key)
        if slots is None:
            slots = _SLOTS[key] = GlobalLimitSlots(*key)
        return slots
