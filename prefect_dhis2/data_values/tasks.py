"""The Prefect tasks of the data values area: import and fetch, artifacts, the read cache.

Each task takes the `Dhis2Credentials` block (never a live client), opens an async
client and calls the engine: `aimport_data_values` (`imports.py`) under the host's
Prefect global concurrency limit, or `afetch_data_values` (`extract.py`).

Examples:
    ```python
    from prefect import flow

    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.data_values import fetch_data_values, import_data_values


    @flow
    def copy_last_month(source: str, target: str) -> None:
        extract = fetch_data_values(Dhis2Credentials.load(source), ["ImspTQPwCqd"],
                                    data_sets=["BfMAe6Itzgt"], periods=["202401"])
        import_data_values(Dhis2Credentials.load(target), extract.data_values, dry_run=False)
    ```
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import TaskRunContext

from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.data_values.extract import DataValuesExtract, afetch_data_values
from prefect_dhis2.data_values.imports import DataValuesImportResult, aimport_data_values
from prefect_dhis2.data_values.report import (
    conflict_table_rows,
    import_summary_line,
    import_summary_markdown,
)
from prefect_dhis2.data_values.rows import DuplicatePolicy, read_data_values_file
from prefect_dhis2.host_limit import _ensure_meanwhile, host_slot
from prefect_dhis2.progress import ProgressArtifact
from prefect_dhis2.runtime import artifact_key, run_logger, run_sync

__all__ = ["fetch_data_values", "import_data_values", "publish_import_artifacts"]


def publish_import_artifacts(
    result: DataValuesImportResult, key_prefix: str = "dhis2-import"
) -> None:
    """Publish the import summary (markdown) and its conflicts (table) as artifacts.

    The conflicts table names each data element and org unit beside its UID and
    says where the org unit sits. The keys end with the deployment's name when the
    run comes from one (`prefect_dhis2.runtime.artifact_key`). Must run inside a
    flow or task run.
    """
    create_markdown_artifact(
        key=artifact_key(f"{key_prefix}-summary"),
        markdown=import_summary_markdown(result),
        description="DHIS2 data value import summary",
    )
    if result.conflicts:
        create_table_artifact(
            key=artifact_key(f"{key_prefix}-conflicts"),
            table=conflict_table_rows(result.conflicts),
            description="Conflicts by input row, with the names of their data elements "
            "and org units",
        )


@task(
    name="Import DHIS2 data values",
    description="Validate data values, dry-run them, then commit in concurrent chunks.",
)
def import_data_values(
    credentials: Dhis2Credentials,
    values: str | Sequence[Mapping[str, Any]],
    dry_run: bool = True,
    dry_run_first: bool = True,
    chunk_size: int = 5_000,
    import_strategy: str = "CREATE_AND_UPDATE",
    async_job: bool = False,
    use_host_limit: bool = True,
    chunk_attempts: int = 3,
    on_duplicate: DuplicatePolicy = "error",
) -> DataValuesImportResult:
    """Import data values from rows or a CSV/JSON file; dry run only by default.

    Publishes a progress artifact while the chunks are sent (chunks done of
    planned, values so far; a log line per few percent), a summary artifact and
    a table artifact of the conflicts, each with the input row it belongs to and
    the names of its data element and org unit.

    Args:
        credentials: The DHIS2 instance.
        values: Rows (dicts with DHIS2's field names) or the path of a CSV/JSON file.
        dry_run: Only check (the default); `False` commits.
        dry_run_first: With `dry_run=False`, dry-run every chunk before committing.
        chunk_size: Values per request.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        async_job: Send each chunk as an `async=true` job.
        use_host_limit: Hold a slot of the host's global concurrency limit per chunk.
        chunk_attempts: Attempts per chunk whose request fails.
        on_duplicate: Rows that give one data value different values: `error`
            (refused before any request, naming the rows), `first` or `last`.

    Returns:
        The summed result; a failed chunk shows in `failed_chunks` and `status`.

    Raises:
        InvalidDataValuesError: Before any write, naming the bad rows.

    Examples:
        ```python
        result = import_data_values(credentials, "values.csv", dry_run=False)
        assert result.status != "ERROR"
        ```
    """
    source = "input"
    if isinstance(values, str | Path):
        source = str(values)
        rows: Sequence[Mapping[str, Any]] = read_data_values_file(values)
    else:
        rows = values
    logger = run_logger()

    async def run() -> DataValuesImportResult:
        async with (
            _ensure_meanwhile(credentials, use_host_limit),
            credentials.get_async_client() as client,
            ProgressArtifact(
                artifact_key("dhis2-import-progress"), "Data value import"
            ) as progress,
        ):
            return await aimport_data_values(
                client,
                rows,
                dry_run=dry_run,
                dry_run_first=dry_run_first,
                chunk_size=chunk_size,
                import_strategy=import_strategy,
                async_job=async_job,
                chunk_attempts=chunk_attempts,
                on_duplicate=on_duplicate,
                source=source,
                logger=logger,
                on_progress=progress,
            )

    result = run_sync(run())
    logger.info("%s", import_summary_line(result))
    publish_import_artifacts(result)
    return result


def _data_values_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    """Cache only reads that name their freshness (`cache_token`), never the credentials."""
    token = parameters.get("cache_token")
    credentials = parameters.get("credentials")
    if token is None or not isinstance(credentials, Dhis2Credentials):
        return None
    request = {
        k: (sorted(v) if isinstance(v, list | tuple) else v)
        for k, v in parameters.items()
        if k not in ("credentials", "cache_token")
    }
    text = json.dumps([credentials.base_url, request, token], sort_keys=True, default=str)
    return "dhis2-data-values-" + hashlib.sha256(text.encode()).hexdigest()


@task(
    name="Fetch DHIS2 data values",
    description="Read data values in concurrent chunks of org units and periods.",
    cache_key_fn=_data_values_cache_key,
    persist_result=True,
)
def fetch_data_values(
    credentials: Dhis2Credentials,
    org_units: list[str],
    data_sets: list[str] | None = None,
    data_elements: list[str] | None = None,
    periods: list[str] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    children: bool = False,
    last_updated: str | None = None,
    include_deleted: bool = False,
    org_units_per_request: int = 50,
    periods_per_request: int = 12,
    cache_token: str | None = None,
) -> DataValuesExtract:
    """Read data values (see `afetch_data_values` for the arguments).

    A progress artifact follows the chunks (done of planned, values so far), with
    a log line per few percent.

    Data values have no server-wide freshness stamp, so the task caches only
    when given a `cache_token` that changes whenever the data may have (e.g. the
    end of the last closed period, or the time of the previous incremental
    pull); the key is the instance URL, the sorted request and that token.

    Examples:
        ```python
        extract = fetch_data_values(credentials, ["ImspTQPwCqd"], data_sets=["BfMAe6Itzgt"],
                                    periods=["202401"], children=True)
        ```
    """

    logger = run_logger()

    async def run() -> DataValuesExtract:
        async with (
            credentials.get_async_client() as client,
            ProgressArtifact(
                artifact_key("dhis2-data-values-progress"), "Data value read"
            ) as progress,
        ):
            return await afetch_data_values(
                client,
                org_units=org_units,
                data_sets=data_sets or (),
                data_elements=data_elements or (),
                periods=periods or (),
                start_date=start_date,
                end_date=end_date,
                children=children,
                last_updated=last_updated,
                include_deleted=include_deleted,
                org_units_per_request=org_units_per_request,
                periods_per_request=periods_per_request,
                logger=logger,
                on_progress=progress,
            )

    extract = run_sync(run())
    logger.info("Read %d data values in %d requests", len(extract.data_values), extract.requests)
    return extract


async def aimport_data_values_under_limit(
    client: AsyncDhis2Client,
    rows: Sequence[Mapping[str, Any]],
    *,
    concurrency_limit: str | None = None,
    **options: Any,
) -> DataValuesImportResult:
    """`aimport_data_values` holding a slot of a Prefect global concurrency limit per chunk.

    What the old `import_data_values_async(..., concurrency_limit=name)` did; new code
    calls `aimport_data_values(client, rows, slot=host_slot(name))`.

    Args:
        client: An open async client.
        rows: Data values with DHIS2's field names.
        concurrency_limit: Name of the Prefect global concurrency limit (None = none).
        **options: The other arguments of `aimport_data_values`.
    """
    return await aimport_data_values(client, rows, slot=host_slot(concurrency_limit), **options)
