"""`AsyncDhis2Client`: the asynchronous twin of `Dhis2Client`."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from prefect_dhis2.client._core import (
    BodyReader,
    ClientCore,
    ClientSettings,
    Exchange,
    Operation,
    Outcome,
    Params,
    Send,
    remaining_pages,
    validate_endpoint,
)
from prefect_dhis2.client.budget import host_budget
from prefect_dhis2.models import (
    AnalyticsGrid,
    ImportReport,
    ImportSummary,
    Me,
    MetadataPage,
    ServerInfo,
    WebMessage,
)

__all__ = ["AsyncDhis2Client"]

_sleep = asyncio.sleep  # module-level so tests can replace it for this client only


class AsyncDhis2Client:
    """An asyncio client for one DHIS2 instance, with the same methods as
    `Dhis2Client` (awaitable) and concurrent paging.

    At most `settings.max_concurrency` requests are in flight at once to the
    host, across every call made through this client and every other client
    of the process (see `prefect_dhis2.client.budget`).

    Args:
        settings: Where and how to connect.
        transport: An httpx async transport (for tests and proxies); optional.

    Examples:
        ```python
        from prefect_dhis2 import Dhis2Credentials

        async with Dhis2Credentials.load("BLOCK_NAME").get_async_client() as client:
            info = await client.get_server_info()
            async for page in client.iter_metadata("organisationUnits", fields="id,path"):
                ...
        ```
    """

    def __init__(
        self, settings: ClientSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._core = ClientCore(settings)
        options = settings.httpx_options()
        if transport is not None:
            options["transport"] = transport
        self._http = httpx.AsyncClient(**options)
        self._budget = host_budget(settings.base_url)
        self._sharing: object | None = None
        if settings.shared_slots is not None:
            self._sharing = self._budget.share(settings.shared_slots, settings.max_concurrency)

    @property
    def settings(self) -> ClientSettings:
        """The connection settings."""
        return self._core.settings

    @property
    def base_url(self) -> str:
        """The DHIS2 instance root."""
        return self._core.settings.base_url

    def __repr__(self) -> str:
        return (
            f"AsyncDhis2Client(base_url={self.base_url!r}, principal={self.settings.principal!r})"
        )

    # -- driving the shared core ---------------------------------------------------

    async def _run(self, exchange: Exchange) -> Any:
        step = next(exchange)
        while True:
            reply: Outcome | None = None
            if isinstance(step, Send):
                reply = await self._send(step.operation)
            else:
                await _sleep(step.seconds)
            try:
                step = exchange.send(reply)
            except StopIteration as done:
                return done.value

    async def _send(self, operation: Operation) -> Outcome:
        async with self._budget.aslot(self.settings.max_concurrency):
            body = BodyReader(self._core, operation)  # the deadline starts with the slot
            try:
                async with self._http.stream(
                    operation.method,
                    operation.path,
                    params=tuple(operation.params),
                    json=operation.json,
                    timeout=operation.timeout or httpx.USE_CLIENT_DEFAULT,
                ) as response:
                    async for chunk in response.aiter_bytes():
                        if (stop := body.add(response, chunk)) is not None:
                            return stop
                    return body.finish(response)
            except httpx.TransportError as exc:
                return exc

    # -- system --------------------------------------------------------------------

    async def get_server_info(self) -> ServerInfo:
        """Read `/api/system/info`. See `Dhis2Client.get_server_info`."""
        result: ServerInfo = await self._run(self._core.proc_server_info())
        return result

    async def get_me(self, fields: str | None = None) -> Me:
        """Read `/api/me`. See `Dhis2Client.get_me`."""
        result: Me = await self._run(self._core.proc_me(fields))
        return result

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET any API path. See `Dhis2Client.get`."""
        operation = self._core.op_get(validate_endpoint(path), params)
        return await self._run(self._core.exchange(operation))

    # -- metadata ------------------------------------------------------------------

    async def iter_metadata(
        self,
        endpoint: str,
        *,
        fields: str | None = None,
        filters: Sequence[str] | None = None,
        order: str | Sequence[str] | None = None,
        root_junction: str | None = None,
        page_size: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[MetadataPage]:
        """Yield the pages of a metadata list in order.

        Page 1 comes first; once its `pageCount` is known the remaining pages
        are fetched concurrently (a window of `2 * max_concurrency` pages ahead,
        so memory stays bounded) and yielded in page order. Arguments as in
        `Dhis2Client.iter_metadata`.
        """
        endpoint = validate_endpoint(endpoint)
        query = self._core.metadata_params(
            fields=fields, filters=filters, order=order, root_junction=root_junction, params=params
        )
        size = page_size or self.settings.page_size
        first = await self._page(endpoint, query, 1, size)
        remaining = remaining_pages(first.pager) if first.items else range(0)
        if remaining is None:
            # No pageCount: follow the pages one after another.
            yield first
            page, number = first, 1
            while page.pager is not None and not page.pager.is_last and page.items:
                number += 1
                page = await self._page(endpoint, query, number, size)
                yield page
            return
        window = 2 * self.settings.max_concurrency
        numbers = iter(remaining)
        pending: deque[asyncio.Task[MetadataPage]] = deque()

        def schedule() -> None:
            for number in numbers:
                pending.append(asyncio.ensure_future(self._page(endpoint, query, number, size)))
                if len(pending) >= window:
                    return

        try:
            # Start the next pages before handing out the first, so the server
            # is busy while the caller processes it.
            schedule()
            yield first
            while pending:
                page = await pending.popleft()
                schedule()
                yield page
        finally:
            for task in pending:
                task.cancel()

    async def _page(self, endpoint: str, query: Params, number: int, size: int) -> MetadataPage:
        operation = self._core.op_metadata_page(endpoint, query, number, size)
        result: MetadataPage = await self._run(self._core.proc_page(endpoint, operation))
        return result

    async def fetch_metadata(
        self,
        endpoint: str,
        *,
        fields: str | None = None,
        filters: Sequence[str] | None = None,
        order: str | Sequence[str] | None = None,
        root_junction: str | None = None,
        paging: bool = True,
        page_size: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Return every record of a metadata list. See `Dhis2Client.fetch_metadata`."""
        if not paging:
            endpoint = validate_endpoint(endpoint)
            query = self._core.metadata_params(
                fields=fields,
                filters=filters,
                order=order,
                root_junction=root_junction,
                params=params,
            )
            operation = self._core.op_metadata_unpaged(endpoint, query)
            page: MetadataPage = await self._run(self._core.proc_page(endpoint, operation))
            return page.items
        records: list[dict[str, Any]] = []
        async for page in self.iter_metadata(
            endpoint,
            fields=fields,
            filters=filters,
            order=order,
            root_junction=root_junction,
            page_size=page_size,
            params=params,
        ):
            records.extend(page.items)
        return records

    async def fetch_metadata_by_values(
        self,
        endpoint: str,
        property_name: str,
        values: Sequence[str],
        *,
        fields: str | None = None,
        filters: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Fetch records by an `in` filter split to the URL budget, batches
        concurrently. See `Dhis2Client.fetch_metadata_by_values`."""
        endpoint = validate_endpoint(endpoint)
        query = self._core.metadata_params(
            fields=fields, filters=filters, order=None, root_junction=None, params=params
        )
        size = self.settings.page_size
        batches = self._core.split_in_filter(endpoint, query, property_name, values, size)

        async def one(batch: list[str]) -> list[dict[str, Any]]:
            in_filter = f"{property_name}:in:[{','.join(batch)}]"
            return await self.fetch_metadata(
                endpoint,
                fields=fields,
                filters=[*(filters or ()), in_filter],
                page_size=size,
                params=params,
            )

        results = await asyncio.gather(*(one(b) for b in batches))
        return [record for batch in results for record in batch]

    async def fetch_organisation_units_by_code(
        self, codes: Sequence[str], *, fields: str = "id,code,name,level,path"
    ) -> list[dict[str, Any]]:
        """Fetch organisation units by code, in URL-sized batches."""
        return await self.fetch_metadata_by_values(
            "organisationUnits", "code", codes, fields=fields
        )

    async def fetch_organisation_units_by_id(
        self, ids: Sequence[str], *, fields: str = "id,code,name,level,path"
    ) -> list[dict[str, Any]]:
        """Fetch organisation units by UID, in URL-sized batches."""
        return await self.fetch_metadata_by_values("organisationUnits", "id", ids, fields=fields)

    # -- analytics -------------------------------------------------------------------

    async def fetch_analytics(
        self,
        dimension: Sequence[str],
        filter: Sequence[str] | None = None,
        **params: Any,
    ) -> AnalyticsGrid:
        """Run one analytics query. See `Dhis2Client.fetch_analytics`."""
        operation = self._core.op_analytics(dimension, filter, params)
        result: AnalyticsGrid = await self._run(self._core.proc_analytics(operation))
        return result

    # -- imports ---------------------------------------------------------------------

    async def post_data_values(
        self,
        payload: Mapping[str, Any],
        *,
        dry_run: bool = False,
        import_strategy: str = "CREATE_AND_UPDATE",
        async_job: bool = False,
        job_timeout: float = 600.0,
        params: Mapping[str, Any] | None = None,
    ) -> ImportSummary:
        """Import a data value set. See `Dhis2Client.post_data_values`."""
        operation = self._core.op_post_data_values(
            payload,
            dry_run=dry_run,
            import_strategy=import_strategy,
            async_job=async_job,
            params=params,
        )
        result: ImportSummary = await self._run(
            self._core.proc_data_values(operation, async_job=async_job, job_timeout=job_timeout)
        )
        return result

    async def post_metadata(
        self,
        payload: Mapping[str, Any],
        *,
        import_mode: str = "COMMIT",
        atomic_mode: str = "ALL",
        import_strategy: str = "CREATE_AND_UPDATE",
        params: Mapping[str, Any] | None = None,
    ) -> ImportReport:
        """Import metadata. See `Dhis2Client.post_metadata`."""
        operation = self._core.op_post_metadata(
            payload,
            import_mode=import_mode,
            atomic_mode=atomic_mode,
            import_strategy=import_strategy,
            params=params,
        )
        result: ImportReport = await self._run(self._core.proc_metadata_import(operation))
        return result

    async def wait_for_job(self, job_type: str, job_id: str, *, timeout: float = 600.0) -> None:
        """Poll a DHIS2 job until it completes. See `Dhis2Client.wait_for_job`."""
        await self._run(self._core.proc_wait_for_job(job_type, job_id, timeout))

    async def run_maintenance(self, *tasks: str) -> WebMessage | None:
        """Run DHIS2 maintenance tasks. See `Dhis2Client.run_maintenance`."""
        result: WebMessage | None = await self._run(
            self._core.proc_maintenance(self._core.op_maintenance(tasks))
        )
        return result

    # -- lifecycle -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (and stop sharing the host's budget)."""
        if self._sharing is not None:
            handle, self._sharing = self._sharing, None
            self._budget.unshare(handle)
        await self._http.aclose()

    async def close(self) -> None:
        """Close the connection pool (same as `aclose`)."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
