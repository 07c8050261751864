"""An analytics extract as a tidy table on disk, and the numbers that summarise it.

`write_analytics_table` writes the tidy records of `prefect_dhis2.analytics.tidy` as
CSV, Parquet or any format of `prefect_dhis2.writers`, in batches (every format in one
pass over the rows). `summarise_table` reads the same rows once for what a report
shows: row and column counts, the distinct data items, org units and periods with
values, and one summary row per data item.

Examples:
    >>> from prefect_dhis2.analytics.extract import AnalyticsExtract
    >>> extract = AnalyticsExtract(base_url="https://dhis2.example.org",
    ...     headers=["dx", "ou", "pe", "value"],
    ...     rows=[["a", "o1", "202401", "2.0"], ["a", "o2", "202401", "3.5"]],
    ...     names={"a": "ANC"})
    >>> table = summarise_table(extract)
    >>> table.rows, table.data_items, table.org_units, table.periods
    (2, 1, 2, 1)
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from prefect_dhis2.analytics.extract import AnalyticsExtract
from prefect_dhis2.analytics.tidy import tidy_columns, tidy_rows
from prefect_dhis2.writers import open_table_writer

__all__ = [
    "AnalyticsTableSummary",
    "summarise_extract",
    "summarise_table",
    "write_analytics_table",
]

_BATCH = 20_000


class AnalyticsTableSummary(BaseModel):
    """The tidy table of an extract in a few numbers, and one summary row per data item.

    Attributes:
        rows: Rows of the tidy table.
        columns: Its column names.
        data_items: Distinct data items with values.
        org_units: Distinct org units with values.
        periods: Distinct periods with values.
        by_data_item: One row per data item: `dx`, `name`, `rows`, `org_units`,
            `periods`, `total`, `min`, `max` (see `summarise_extract`).
    """

    rows: int = 0
    columns: list[str] = Field(default_factory=list)
    data_items: int = 0
    org_units: int = 0
    periods: int = 0
    by_data_item: list[dict[str, Any]] = Field(default_factory=list)


def write_analytics_table(
    extract: AnalyticsExtract, directory: str | Path, formats: list[str], stem: str = "analytics"
) -> dict[str, str]:
    """Write an extract as a tidy table in each format; returns `{"<stem>_<fmt>": path}`.

    Examples:
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

    Examples:
        >>> e = AnalyticsExtract(base_url="x", headers=["dx", "ou", "pe", "value"],
        ...     rows=[["a", "o1", "202401", "2.0"], ["a", "o2", "202401", "3.5"]],
        ...     names={"a": "ANC"})
        >>> summarise_extract(e)[0]["total"]
        5.5
    """
    return summarise_table(extract).by_data_item


def summarise_table(extract: AnalyticsExtract) -> AnalyticsTableSummary:
    """The tidy table of `extract` in numbers, and its per data item rows, in one pass.

    Examples:
        >>> e = AnalyticsExtract(base_url="x", headers=["dx", "pe", "value"],
        ...     rows=[["a", "202401", "1"], ["b", "202401", "2"], ["b", "202402", "4"]])
        >>> table = summarise_table(e)
        >>> table.data_items, table.periods, [r["total"] for r in table.by_data_item]
        (2, 2, [1.0, 6.0])
    """
    table = AnalyticsTableSummary(
        rows=len(extract.rows), columns=[c.name for c in tidy_columns(extract.headers)]
    )
    headers = extract.headers
    if "dx" not in headers or "value" not in headers:
        return table
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
    table.by_data_item = [
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
    table.data_items = len(values)
    table.org_units = len(set().union(*org_units.values()))
    table.periods = len(set().union(*periods.values()))
    return table
