"""The Prefect tasks of analytics: one task run per extraction, cached, with a failure artifact.

`fetch_analytics_table` takes a `Dhis2Credentials` block and runs the engine
(`prefect_dhis2.analytics.extract.afetch_analytics_table`) in one task run, never one
task run per request. Its cache key is made of the instance URL, the user, the
canonical request and the server's `lastAnalyticsTableSuccess`, never the credentials.
Each shard holds one slot of the host's Prefect global concurrency limit, so every flow
run and worker hitting one DHIS2 server shares one budget. When some shards fail, the
finished ones are kept in Prefect's result store (`ResultStoreShardCache`), so the
re-run after the failure only requests the ones that failed, and a table artifact
lists the failed shards.

Examples:
    ```python
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.analytics import AnalyticsQuery, fetch_analytics_table

    query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-4"],
                           periods=["LAST_12_MONTHS"])
    table = fetch_analytics_table(Dhis2Credentials.load("BLOCK_NAME"), query)
    print(len(table.rows), table.headers)
    ```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.context import TaskRunContext
from prefect.results import get_result_store

from prefect_dhis2.analytics.extract import (
    DEFAULT_MAX_ROWS,
    AnalyticsExtract,
    AnalyticsExtractionError,
    ShardCache,
    ShardFailure,
    afetch_analytics_table,
    analytics_cache_key,
    analytics_freshness,
)
from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.analytics.shards import DEFAULT_MAX_URL_LENGTH
from prefect_dhis2.analytics.tables import AnalyticsTableExport, aexport_analytics_table
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.host_limit import _ensure_meanwhile
from prefect_dhis2.progress import ProgressArtifact
from prefect_dhis2.runtime import run_logger, run_sync

__all__ = [
    "ProgressArtifact",
    "ResultStoreShardCache",
    "export_analytics_table",
    "fetch_analytics_table",
]


class ResultStoreShardCache:
    """A `ShardCache` in Prefect's result store (the run's result storage).

    Examples:
        ```python
        cache = ResultStoreShardCache()  # inside a flow or task run
        ```
    """

    def __init__(self) -> None:
        self._store = get_result_store()

    async def get(self, key: str) -> dict[str, Any] | None:
        """The stored grid of `key`, or None (an unreadable entry counts as missing)."""
        try:
            if not await self._store.aexists(key):
                return None
            record = await self._store.aread(key)
        except (OSError, ValueError, TypeError):  # unreadable: fetch the shard again
            return None
        value = record.result
        return value if isinstance(value, dict) else None

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store the grid of `key`."""
        await self._store.awrite(value, key=key)


def _task_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    credentials = parameters.get("credentials")
    query = parameters.get("query")
    if not isinstance(credentials, Dhis2Credentials) or not isinstance(query, AnalyticsQuery):
        return None
    # Two small system answers, bounded by this process's budget: waiting for a lease
    # of the host's shared limit would hold the task's start for a Prefect round trip.
    with credentials.model_copy(update={"share_host_limit": False}).get_client() as client:
        info = client.get_server_info()
        user_id = client.get_me(fields="id").id
    return "dhis2-analytics-" + analytics_cache_key(credentials.base_url, user_id, query, info)


async def _extract_with(
    credentials: Dhis2Credentials,
    query: AnalyticsQuery,
    *,
    max_rows: int,
    max_url_length: int,
    use_host_limit: bool,
    cache_shards: bool,
) -> AnalyticsExtract:
    async with (
        _ensure_meanwhile(credentials, use_host_limit),
        credentials.get_async_client() as client,
    ):
        freshness: str | None = None
        cache: ShardCache | None = None
        if cache_shards:
            freshness = analytics_freshness(await client.get_server_info())
            cache = ResultStoreShardCache()
        async with ProgressArtifact("dhis2-analytics-progress", "Analytics extraction") as progress:
            return await afetch_analytics_table(
                client,
                query,
                max_rows=max_rows,
                max_url_length=max_url_length,
                shard_cache=cache,
                freshness=freshness,
                logger=run_logger(),
                on_progress=progress,
            )


@task(
    name="Fetch DHIS2 analytics",
    description="Run an analytics query in concurrent shards and merge the grids.",
    cache_key_fn=_task_cache_key,
    persist_result=True,
)
def fetch_analytics_table(
    credentials: Dhis2Credentials,
    query: AnalyticsQuery,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    use_host_limit: bool = True,
    cache_shards: bool = True,
) -> AnalyticsExtract:
    """Fetch an analytics query of any size as one merged, cached result.

    One task run drives every shard (see
    `prefect_dhis2.analytics.extract.afetch_analytics_table`); the result is
    cached on the instance URL, the canonical request and the server's
    `lastAnalyticsTableSuccess`, so an unchanged re-run sends no analytics
    request, and a run after the analytics tables were regenerated fetches again.

    Args:
        credentials: The DHIS2 instance.
        query: The request (validated before any request is made).
        max_rows: Row budget per shard.
        max_url_length: URL budget per shard.
        use_host_limit: Hold a slot of the host's Prefect global concurrency
            limit per shard (created with the block's `max_concurrency` if missing).
        cache_shards: Keep finished shards in Prefect's result store, so a
            re-run after a failure fetches only the failed ones.

    Returns:
        The merged extract.

    Raises:
        AnalyticsExtractionError: If some shards failed (after the ones that
            succeeded were stored).

    Examples:
        ```python
        from prefect import flow

        @flow
        def anc_export():
            query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-2"],
                                   periods=["LAST_12_MONTHS"])
            return fetch_analytics_table(Dhis2Credentials.load("BLOCK_NAME"), query)
        ```
    """
    extract = run_sync(
        _extract_with(
            credentials,
            query,
            max_rows=max_rows,
            max_url_length=max_url_length,
            use_host_limit=use_host_limit,
            cache_shards=cache_shards,
        )
    )
    logger = run_logger()
    logger.info(
        "Analytics: %d rows from %d shards (%d cached, %d split) in %.2f s",
        len(extract.rows),
        extract.shards_fetched + extract.shards_cached,
        extract.shards_cached,
        extract.shards_split,
        extract.duration_s,
    )
    if extract.failures:
        _publish_failures(extract.failures, extract.names)
        raise AnalyticsExtractionError(extract.base_url, extract.failures, extract.names)
    return extract


def failure_rows(
    failures: Sequence[ShardFailure], names: Mapping[str, str]
) -> list[dict[str, object]]:
    """The failed shards as table rows, each item named beside its id where known.

    Examples:
        >>> from prefect_dhis2.analytics import ShardFailure
        >>> failure = ShardFailure(data_items=["fbfJHSPpUQD"], org_units=["O6uvpzGd5pu"],
        ...     periods=["202401"], error="Dhis2ApiError", status_code=409,
        ...     error_code="E7144", message="Not allowed", permanent=True)
        >>> row = failure_rows([failure], {"fbfJHSPpUQD": "ANC 1st visit", "O6uvpzGd5pu": "Bo"})[0]
        >>> row["dx"], row["ou"], row["pe"]
        ('ANC 1st visit (fbfJHSPpUQD)', 'Bo (O6uvpzGd5pu)', '202401')
    """

    def named(items: Sequence[str], most: int | None = None) -> str:
        shown = [f"{names[i]} ({i})" if names.get(i) else i for i in items[:most]]
        return "; ".join(shown) + ("; ..." if most is not None and len(items) > most else "")

    return [
        {
            "error": f.error,
            "error_code": f.error_code or "",
            "status": f.status_code or "",
            "permanent": f.permanent,
            "dx": named(f.data_items),
            "ou": named(f.org_units, 10),
            "pe": named(f.periods),
            "message": f.message,
        }
        for f in failures
    ]


def _publish_failures(failures: Sequence[ShardFailure], names: Mapping[str, str]) -> None:
    create_table_artifact(
        key="dhis2-analytics-failures",
        table=failure_rows(failures, names),
        description="Analytics shards that could not be fetched",
    )


async def _export_with(
    credentials: Dhis2Credentials,
    query: AnalyticsQuery,
    directory: Path,
    formats: list[str],
    *,
    stem: str,
    max_rows: int,
    max_url_length: int,
    use_host_limit: bool,
    reuse: bool,
) -> AnalyticsTableExport:
    async with (
        _ensure_meanwhile(credentials, use_host_limit),
        credentials.get_async_client() as client,
        ProgressArtifact("dhis2-analytics-export-progress", "Analytics export") as progress,
    ):
        return await aexport_analytics_table(
            client,
            query,
            directory,
            formats,
            stem=stem,
            reuse=reuse,
            on_progress=progress,
            max_rows=max_rows,
            max_url_length=max_url_length,
            logger=run_logger(),
        )


@task(
    name="Export DHIS2 analytics table",
    description="Stream an analytics query in concurrent shards to CSV/Parquet.",
    persist_result=False,
)
def export_analytics_table(
    credentials: Dhis2Credentials,
    query: AnalyticsQuery,
    directory: str,
    formats: list[str] | None = None,
    stem: str = "analytics",
    max_rows: int = DEFAULT_MAX_ROWS,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    use_host_limit: bool = True,
    reuse: bool = True,
) -> AnalyticsTableExport:
    """Extract an analytics query and write its tidy table while the shards arrive.

    The engine is `prefect_dhis2.analytics.tables.aexport_analytics_table`: rows
    go to disk shard by shard (never one table in memory, no result persisted
    but the small summary), in the same order on every run; a progress
    artifact shows shards done of planned and rows so far. With `reuse`, an
    unchanged re-run (same instance, user, request and analytics freshness,
    files untouched) sends no analytics request.

    Args:
        credentials: The DHIS2 instance.
        query: The request (validated before any request is made).
        directory: Where to write.
        formats: `csv` and/or `parquet` (default both).
        stem: File name stem.
        max_rows: Row budget per shard (lowered to the server's limit once known).
        max_url_length: URL budget per shard.
        use_host_limit: Hold a slot of the host's Prefect global concurrency
            limit per worker (created with the block's `max_concurrency` if missing).
        reuse: Skip the extraction when the files already hold this answer.

    Returns:
        What was fetched and written.

    Raises:
        AnalyticsExtractionError: If some shards failed (no file is left behind).

    Examples:
        ```python
        from prefect import flow

        @flow
        def anc_export():
            query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-4"],
                                   periods=["LAST_12_MONTHS"])
            return export_analytics_table(Dhis2Credentials.load("BLOCK_NAME"), query, "exports")
        ```
    """
    try:
        export = run_sync(
            _export_with(
                credentials,
                query,
                Path(directory),
                list(formats or ["csv", "parquet"]),
                stem=stem,
                max_rows=max_rows,
                max_url_length=max_url_length,
                use_host_limit=use_host_limit,
                reuse=reuse,
            )
        )
    except AnalyticsExtractionError as error:
        _publish_failures(error.failures, error.names)
        raise
    summary = export.extract
    run_logger().info(
        "Analytics: %d rows %s from %d shards (%d split) in %.2f s",
        export.table.rows,
        "already on disk" if export.cached else "written",
        summary.shards_fetched + summary.shards_cached,
        summary.shards_split,
        summary.duration_s,
    )
    return export
