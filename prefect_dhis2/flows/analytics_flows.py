"""The bundled analytics flow: a sharded, concurrent extraction to a tidy table."""

from __future__ import annotations

from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from prefect_dhis2.analytics import DEFAULT_MAX_ROWS, AnalyticsExtract, fetch_analytics_table
from prefect_dhis2.analytics_query import AnalyticsQuery
from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, run_logger
from prefect_dhis2.tidy import tidy_columns, tidy_rows
from prefect_dhis2.writers import (
    open_table_writer,
    resolve_output_dir,
    resolve_table_formats,
)

__all__ = [
    "AnalyticsExportReport",
    "dhis2_analytics_export",
    "summarise_extract",
    "write_analytics_table",
]

_BATCH = 20_000


class AnalyticsExportReport(Dhis2FlowReport):
    """What `dhis2_analytics_export` wrote.

    Attributes:
        rows: Rows of the tidy table.
        columns: Its column names.
        shards: Shards answered by the server or read from the shard cache.
        shards_cached: Shards read from the shard cache.
        shards_split: Shards bisected after a refusal or timeout.
        data_items: Distinct data items with values.
        org_units: Distinct org units with values.
        periods: Distinct periods with values.
    """

    rows: int = 0
    columns: list[str] = []
    shards: int = 0
    shards_cached: int = 0
    shards_split: int = 0
    data_items: int = 0
    org_units: int = 0
    periods: int = 0


def write_analytics_table(
    extract: AnalyticsExtract, directory: str | Path, formats: list[str], stem: str = "analytics"
) -> dict[str, str]:
    """Write an extract as a tidy table in each format; returns `{"<stem>_<fmt>": path}`.

    Example:
        ```python
        files = write_analytics_table(extract, "exports", ["csv", "parquet"])
        ```
    """
    columns = tidy_columns(extract.headers)
    paths = {fmt: Path(directory) / f"{stem}.{fmt}" for fmt in formats}
    with ExitStack() as stack:
        writers = [stack.enter_context(open_table_writer(p, columns)) for p in paths.values()]
        batch: list[dict[str, Any]] = []
        for record in tidy_rows(extract.headers, extract.rows, extract.names):
            batch.append(record)
            if len(batch) >= _BATCH:
                for writer in writers:
                    writer.write_batch(batch)
                batch = []
        for writer in writers:
            writer.write_batch(batch)
    return {f"{stem}_{fmt}": str(path) for fmt, path in paths.items()}


def summarise_extract(extract: AnalyticsExtract) -> list[dict[str, Any]]:
    """One summary row per data item: rows, org units, periods, total and range of values.

    Example:
        >>> e = AnalyticsExtract(base_url="x", headers=["dx", "ou", "pe", "value"],
        ...     rows=[["a", "o1", "202401", "2.0"], ["a", "o2", "202401", "3.5"]],
        ...     names={"a": "ANC"})
        >>> summarise_extract(e)[0]["total"]
        5.5
    """
    return _summary(extract)[0]


def _summary(extract: AnalyticsExtract) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per data item summary rows, and the distinct dx/ou/pe counts, in one pass."""
    headers = extract.headers
    if "dx" not in headers or "value" not in headers:
        return [], {}
    dx_i, value_i = headers.index("dx"), headers.index("value")
    ou_i = headers.index("ou") if "ou" in headers else None
    pe_i = headers.index("pe") if "pe" in headers else None
    values: dict[str, list[float]] = defaultdict(list)
    org_units: dict[str, set[str]] = defaultdict(set)
    periods: dict[str, set[str]] = defaultdict(set)
    for row in extract.rows:
        dx = row[dx_i]
        values[dx].append(float(row[value_i]))
        if ou_i is not None:
            org_units[dx].add(row[ou_i])
        if pe_i is not None:
            periods[dx].add(row[pe_i])
    rows = [
        {
            "dx": dx,
            "name": extract.names.get(dx, ""),
            "rows": len(numbers),
            "org_units": len(org_units[dx]),
            "periods": len(periods[dx]),
            "total": round(sum(numbers), 2),
            "min": min(numbers),
            "max": max(numbers),
        }
        for dx, numbers in sorted(values.items())
    ]
    distinct = {
        "dx": len(values),
        "ou": len(set().union(*org_units.values())),
        "pe": len(set().union(*periods.values())),
    }
    return rows, distinct


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
    shards that share the host's concurrency budget, cached on the server's
    analytics freshness, and written as CSV and Parquet; a table artifact
    summarises each data item.

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

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_analytics_export
        report = dhis2_analytics_export(org_units=["LEVEL-2"], periods=["LAST_12_MONTHS"],
                                        instance="BLOCK_NAME")
        print(report.rows, report.files)
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
    table_formats = resolve_table_formats(formats)
    directory = resolve_output_dir(output_dir, "dhis2-analytics")
    creds = resolve_credentials(credentials, instance)
    extract = fetch_analytics_table(creds, query, max_rows=max_rows)
    files = write_analytics_table(extract, directory, table_formats)
    summary, distinct = _summary(extract)
    report = AnalyticsExportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=files,
        rows=len(extract.rows),
        columns=[c.name for c in tidy_columns(extract.headers)],
        shards=extract.shards_fetched + extract.shards_cached,
        shards_cached=extract.shards_cached,
        shards_split=extract.shards_split,
        data_items=distinct.get("dx", 0),
        org_units=distinct.get("ou", 0),
        periods=distinct.get("pe", 0),
        duration_s=watch.elapsed,
    )
    create_table_artifact(
        key="dhis2-analytics-export",
        table=summary or [{"rows": 0}],
        description=(
            f"{report.rows:,} analytics rows from {creds.base_url}: {report.data_items} data "
            f"items, {report.org_units} org units, {report.periods} periods, "
            f"{report.shards} shards"
        ),
    )
    run_logger().info("Wrote %d analytics rows to %s", report.rows, directory)
    return report
