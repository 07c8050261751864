"""The bundled analytics flow: a sharded, concurrent extraction to a tidy table."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_table_artifact

from prefect_dhis2._deprecation import deprecated_names
from prefect_dhis2.analytics import (
    DEFAULT_MAX_ROWS,
    AnalyticsExtractSummary,
    AnalyticsQuery,
    AnalyticsTableSummary,
    export_analytics_table,
)
from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, run_logger
from prefect_dhis2.writers import resolve_output_dir, resolve_table_formats

__all__ = ["AnalyticsExportReport", "dhis2_analytics_export"]

__getattr__ = deprecated_names(
    __name__,
    {
        "write_analytics_table": "prefect_dhis2.analytics.tables",
        "summarise_extract": "prefect_dhis2.analytics.tables",
    },
)


class AnalyticsExportReport(Dhis2FlowReport):
    """What `dhis2_analytics_export` fetched and wrote.

    Attributes:
        extract: How the extraction went (shards fetched, cached and split,
            duration), without its rows.
        table: The tidy table written: rows, columns, distinct data items, org
            units and periods, one summary row per data item.
    """

    extract: AnalyticsExtractSummary
    table: AnalyticsTableSummary


@flow(name="dhis2-analytics-export", log_prints=False)
def dhis2_analytics_export(
    data_items: list[str] = ["fbfJHSPpUQD", "cYeuwXTCPkU"],  # noqa: B006 - shown in the UI
    org_units: list[str] = ["ImspTQPwCqd"],  # noqa: B006
    periods: list[str] = ["LAST_4_QUARTERS"],  # noqa: B006
    filters: list[str] | None = None,
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    formats: list[str] | None = None,
    category_option_combos: bool = False,
    include_num_den: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> AnalyticsExportReport:
    """Export analytics as a tidy table (`dx`, `ou`, `pe`, names, period dates, `value`).

    The request is validated before anything else, then fetched in concurrent
    shards that share the host's concurrency budget and written as CSV and
    Parquet while the shards arrive (in the same row order on every run); a
    progress artifact follows the shards and a table artifact summarises each
    data item. An unchanged re-run into the same `output_dir` (same request,
    analytics tables not regenerated since) finds its files and sends no
    analytics request.

    Args:
        data_items: `dx` items (data elements, indicators, operands, ...);
            default ANC 1st and 2nd visit.
        org_units: `ou` items (UIDs, `LEVEL-n`, `OU_GROUP-<uid>`, `USER_ORGUNIT`);
            default Sierra Leone.
        periods: ISO or relative periods; default `LAST_4_QUARTERS`.
        filters: Filter dimensions such as `["ou:O6uvpzGd5pu"]`.
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        formats: Table formats, default `["csv", "parquet"]`.
        category_option_combos: Add the `co` dimension (one row per category option combo).
        include_num_den: Add numerator, denominator and factor columns.
        max_rows: Row budget per shard.

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_analytics_export
        report = dhis2_analytics_export(org_units=["LEVEL-2"], periods=["LAST_12_MONTHS"],
                                        instance="BLOCK_NAME")
        print(report.table.rows, report.files)
        ```
    """
    watch = Stopwatch()
    query = AnalyticsQuery(
        data_items=data_items,
        org_units=org_units,
        periods=periods,
        filters=filters or [],
        dimensions={"co": []} if category_option_combos else {},
        include_num_den=include_num_den or None,
    )
    if not query.org_units and "ou" not in query.filters:
        raise ValueError(
            "At least one org unit (ou) must be given, in org_units or as a filter "
            "such as 'ou:ImspTQPwCqd'."
        )
    table_formats = resolve_table_formats(formats)
    directory = resolve_output_dir(output_dir, "dhis2-analytics")
    creds = resolve_credentials(credentials, instance)
    export = export_analytics_table(creds, query, str(directory), table_formats, max_rows=max_rows)
    extract = export.extract
    report = AnalyticsExportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=export.files,
        extract=extract,
        table=export.table,
        duration_s=watch.elapsed,
    )
    table = report.table
    create_table_artifact(
        key="dhis2-analytics-export",
        table=table.by_data_item or [{"rows": 0}],
        description=(
            f"{table.rows:,} analytics rows from {creds.base_url}: {table.data_items} data "
            f"items, {table.org_units} org units, {table.periods} periods, "
            f"{extract.shards_fetched + extract.shards_cached} shards"
        ),
    )
    run_logger().info("Wrote %d analytics rows to %s", table.rows, directory)
    return report
