"""`Dhis2Client`: the synchronous DHIS2 Web API client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
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
    Send,
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

__all__ = ["Dhis2Client"]

_sleep = time.sleep  # module-level so tests can replace it for this client only


class Dhis2Client:
    """A synchronous client for one DHIS2 instance.

    Usually obtained from a credentials block; it holds a connection pool, so
    use it as a context manager or call `close()`. Retries, timeouts, paging and
    error mapping are built in (see `ClientSettings` and `RetryPolicy`). Each
    request holds a slot of its host's budget, shared with every other client of
    the process (see `prefect_dhis2.client.budget`).

    Args:
        settings: Where and how to connect.
        transport: An httpx transport (for tests and proxies); optional.

    Examples:
        ```python
        from prefect_dhis2 import Dhis2Credentials

        with Dhis2Credentials.load("BLOCK_NAME").get_client() as client:
            print(client.get_server_info().version)
            for page in client.iter_metadata("organisationUnits", fields="id,name,level"):
                for org_unit in page:
                    ...
        ```
    """

    def __init__(
        self, settings: ClientSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._core = ClientCore(settings)
        options = settings.httpx_options()
        if transport is not None:
            options["transport"] = transport
        self._http = httpx.Client(**options)
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
        return f"Dhis2Client(base_url={self.base_url!r}, principal={self.settings.principal!r})"

    # -- driving the shared core ---------------------------------------------------

    def _run(self, exchange: Exchange) -> Any:
        step = next(exchange)
        while True:
            reply: Outcome | None = None
            if isinstance(step, Send):
                reply = self._send(step.operation)
            else:
                _sleep(step.seconds)
            try:
                step = exchange.send(reply)
            except StopIteration as done:
                return done.value

    def _send(self, operation: Operation) -> Outcome:
        with self._budget.slot(self.settings.max_concurrency):
            body = BodyReader(self._core, operation)  # the deadline starts with the slot
            try:
                with self._http.stream(
                    operation.method,
                    operation.path,
                    params=tuple(operation.params),
                    json=operation.json,
                    timeout=operation.timeout or httpx.USE_CLIENT_DEFAULT,
                ) as response:
                    for chunk in response.iter_bytes():
                        if (stop := body.add(response, chunk)) is not None:
                            return stop
                    return body.finish(response)
            except httpx.TransportError as exc:
                return exc

    # -- system --------------------------------------------------------------------

    def get_server_info(self) -> ServerInfo:
        """Read `/api/system/info`: version, revision, analytics freshness, ...

        Returns:
            The server info with a comparable `version`.
        """
        result: ServerInfo = self._run(self._core.proc_server_info())
        return result

    def get_me(self, fields: str | None = None) -> Me:
        """Read `/api/me`, the authenticated user (a good credential check).

        Args:
            fields: DHIS2 `fields` selection, e.g. `id,username,authorities`.
        """
        result: Me = self._run(self._core.proc_me(fields))
        return result

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET any API path and return the parsed JSON (with retries).

        Args:
            path: A path below `/api`, e.g. `dataElements/fbfJHSPpUQD`.
            params: Query parameters; lists repeat the key.
        """
        operation = self._core.op_get(validate_endpoint(path), params)
        return self._run(self._core.exchange(operation))

    # -- metadata ------------------------------------------------------------------

    def iter_metadata(
        self,
        endpoint: str,
        *,
        fields: str | None = None,
        filters: Sequence[str] | None = None,
        order: str | Sequence[str] | None = None,
        root_junction: str | None = None,
        page_size: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[MetadataPage]:
        """Yield the pages of a metadata list lazily, one request per page.

        Args:
            endpoint: The collection, e.g. `organisationUnits`.
            fields: DHIS2 `fields` selection (default: DHIS2's `id,displayName`).
            filters: Filters such as `level:eq:2`, ANDed unless `root_junction="OR"`.
            order: e.g. `name:asc`.
            root_junction: `AND` or `OR`.
            page_size: Records per page (default `settings.page_size`).
            params: Other query parameters (e.g. `{"level": 3}`).

        Yields:
            Pages in order; each iterates over its records.

        Raises:
            ValueError: For an invalid endpoint or filter, before any request.
        """
        endpoint = validate_endpoint(endpoint)
        query = self._core.metadata_params(
            fields=fields, filters=filters, order=order, root_junction=root_junction, params=params
        )
        size = page_size or self.settings.page_size
        page_number = 1
        while True:
            operation = self._core.op_metadata_page(endpoint, query, page_number, size)
            page: MetadataPage = self._run(self._core.proc_page(endpoint, operation))
            yield page
            if page.pager is None or page.pager.is_last or not page.items:
                return
            page_number += 1

    def fetch_metadata(
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
        """Return every record of a metadata list.

        Args:
            endpoint: The collection, e.g. `dataElements`.
            fields: DHIS2 `fields` selection.
            filters: Filters such as `name:ilike:ANC`.
            order: e.g. `name:asc`.
            root_junction: `AND` or `OR`.
            paging: False asks for everything in one response (`paging=false`);
                fine for small lists, costly for large ones.
            page_size: Records per page when paging.
            params: Other query parameters.

        Returns:
            The records as dicts, in server order.

        Examples:
            ```python
            levels = client.fetch_metadata("organisationUnitLevels", fields="level,name")
            ```
        """
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
            page: MetadataPage = self._run(self._core.proc_page(endpoint, operation))
            return page.items
        records: list[dict[str, Any]] = []
        for page in self.iter_metadata(
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

    def fetch_metadata_by_values(
        self,
        endpoint: str,
        property_name: str,
        values: Sequence[str],
        *,
        fields: str | None = None,
        filters: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Fetch records whose `property_name` is in `values`, splitting the
        `property:in:[...]` filter into as few requests as the URL budget allows.

        Args:
            endpoint: The collection, e.g. `organisationUnits`.
            property_name: e.g. `id` or `code`.
            values: The wanted values (duplicates are sent once).
            fields: DHIS2 `fields` selection.
            filters: Further filters ANDed with the `in` filter.
            params: Other query parameters.
        """
        endpoint = validate_endpoint(endpoint)
        query = self._core.metadata_params(
            fields=fields, filters=filters, order=None, root_junction=None, params=params
        )
        size = self.settings.page_size
        records: list[dict[str, Any]] = []
        for batch in self._core.split_in_filter(endpoint, query, property_name, values, size):
            in_filter = f"{property_name}:in:[{','.join(batch)}]"
            for page in self.iter_metadata(
                endpoint,
                fields=fields,
                filters=[*(filters or ()), in_filter],
                page_size=size,
                params=params,
            ):
                records.extend(page.items)
        return records

    def fetch_organisation_units_by_code(
        self, codes: Sequence[str], *, fields: str = "id,code,name,level,path"
    ) -> list[dict[str, Any]]:
        """Fetch organisation units by code, in URL-sized batches.

        Examples:
            ```python
            units = client.fetch_organisation_units_by_code(["OU_559", "OU_167"])
            ```
        """
        return self.fetch_metadata_by_values("organisationUnits", "code", codes, fields=fields)

    def fetch_organisation_units_by_id(
        self, ids: Sequence[str], *, fields: str = "id,code,name,level,path"
    ) -> list[dict[str, Any]]:
        """Fetch organisation units by UID, in URL-sized batches."""
        return self.fetch_metadata_by_values("organisationUnits", "id", ids, fields=fields)

    # -- analytics -------------------------------------------------------------------

    def fetch_analytics(
        self,
        dimension: Sequence[str],
        filter: Sequence[str] | None = None,
        **params: Any,
    ) -> AnalyticsGrid:
        """Run one analytics query (`GET /api/analytics`).

        Args:
            dimension: e.g. `["dx:fbfJHSPpUQD;cYeuwXTCPkU", "ou:ImspTQPwCqd", "pe:LAST_4_QUARTERS"]`.
            filter: Filter dimensions, e.g. `["ou:O6uvpzGd5pu"]`.
            **params: Flags in DHIS2's spelling, e.g. `skipMeta=True`,
                `displayProperty="NAME"`; booleans are sent lower-case.

        Returns:
            The typed grid.
        """
        operation = self._core.op_analytics(dimension, filter, params)
        result: AnalyticsGrid = self._run(self._core.proc_analytics(operation))
        return result

    # -- imports ---------------------------------------------------------------------

    def post_data_values(
        self,
        payload: Mapping[str, Any],
        *,
        dry_run: bool = False,
        import_strategy: str = "CREATE_AND_UPDATE",
        async_job: bool = False,
        job_timeout: float = 600.0,
        params: Mapping[str, Any] | None = None,
    ) -> ImportSummary:
        """Import a data value set (`POST /api/dataValueSets`).

        Conflicts are part of the result (`summary.conflicts`), whatever status
        code the DHIS2 version uses for them.

        Args:
            payload: `{"dataValues": [{"dataElement", "period", "orgUnit", "value", ...}]}`.
            dry_run: Validate only; nothing is written (`completeDate` is left out).
            import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
            async_job: Run as a DHIS2 job and poll it to completion.
            job_timeout: Seconds to wait for an asynchronous job.
            params: Other query parameters (e.g. `{"idScheme": "CODE"}`).

        Returns:
            The import summary (counts and conflicts).
        """
        operation = self._core.op_post_data_values(
            payload,
            dry_run=dry_run,
            import_strategy=import_strategy,
            async_job=async_job,
            params=params,
        )
        result: ImportSummary = self._run(
            self._core.proc_data_values(operation, async_job=async_job, job_timeout=job_timeout)
        )
        return result

    def post_metadata(
        self,
        payload: Mapping[str, Any],
        *,
        import_mode: str = "COMMIT",
        atomic_mode: str = "ALL",
        import_strategy: str = "CREATE_AND_UPDATE",
        params: Mapping[str, Any] | None = None,
    ) -> ImportReport:
        """Import metadata (`POST /api/metadata`).

        Args:
            payload: e.g. `{"dataElements": [{...}], "indicators": [{...}]}`.
            import_mode: `VALIDATE` to check only, `COMMIT` to write.
            atomic_mode: `ALL` (nothing is written if anything fails) or `NONE`.
            import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
            params: Other query parameters (e.g. `{"identifier": "CODE"}`).

        Returns:
            The import report, errors included.
        """
        operation = self._core.op_post_metadata(
            payload,
            import_mode=import_mode,
            atomic_mode=atomic_mode,
            import_strategy=import_strategy,
            params=params,
        )
        result: ImportReport = self._run(self._core.proc_metadata_import(operation))
        return result

    def wait_for_job(self, job_type: str, job_id: str, *, timeout: float = 600.0) -> None:
        """Poll a DHIS2 job (`/api/system/tasks/{type}/{id}`) until it completes.

        Raises:
            Dhis2JobError: If the job failed or did not finish in time.
        """
        self._run(self._core.proc_wait_for_job(job_type, job_id, timeout))

    def run_maintenance(self, *tasks: str) -> WebMessage | None:
        """Run DHIS2 maintenance tasks, e.g. `run_maintenance("cacheClear")`.

        Args:
            *tasks: Names from `MAINTENANCE_TASKS` (`analyticsTableClear`,
                `cacheClear`, `periodPruning`, ...).
        """
        result: WebMessage | None = self._run(
            self._core.proc_maintenance(self._core.op_maintenance(tasks))
        )
        return result

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (and stop sharing the host's budget)."""
        if self._sharing is not None:
            handle, self._sharing = self._sharing, None
            self._budget.unshare(handle)
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
