"""Reading data values: chunked concurrent `GET /api/dataValueSets` (no Prefect).

`afetch_data_values` reads data values for data sets or data elements, periods or a
date range, org units (with their children) and `lastUpdated` for incremental pulls,
cut into chunks of org units and periods that run concurrently; values read twice
(overlapping org units) are kept once. An `on_progress` callback gets a `ChunkProgress`
after each chunk (values received so far), and a line is logged per few percent.

Examples:
    ```python
    async with Dhis2Credentials.load("BLOCK_NAME").get_async_client() as client:
        extract = await afetch_data_values(
            client, data_sets=["BfMAe6Itzgt"], org_units=["ImspTQPwCqd"],
            periods=["202401"], children=True)
    ```
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.data_values.progress import ChunkTracker, ProgressCallback
from prefect_dhis2.periods import parse_period
from prefect_dhis2.uids import is_valid_uid

__all__ = ["DataValuesExtract", "afetch_data_values"]

_Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]


class DataValuesExtract(BaseModel):
    """Data values read from DHIS2 (plain data, persistable).

    Attributes:
        base_url: The DHIS2 instance.
        data_values: The values as DHIS2 sends them (strings), each once.
        requests: Chunks requested.
        duplicates_dropped: Values read twice (overlapping org units) kept once.
    """

    base_url: str
    data_values: list[dict[str, Any]] = Field(default_factory=list)
    requests: int = 0
    duplicates_dropped: int = 0

    def to_arrow(self) -> Any:
        """The values as an Arrow table: DHIS2's fields as strings, plus
        `period_start`/`period_end` dates and `numeric_value` (float64, null
        when the value is not a number); needs pyarrow.

        Examples:
            >>> extract = DataValuesExtract(base_url="https://dhis2.example.org",
            ...     data_values=[{"dataElement": "fbfJHSPpUQD", "period": "202401",
            ...                   "orgUnit": "ImspTQPwCqd", "value": "12"}])
            >>> table = extract.to_arrow()
            >>> table.column("numeric_value").to_pylist(), str(table.column("period_end")[0])
            ([12.0], '2024-01-31')
        """
        import pyarrow as pa

        names = list(dict.fromkeys(k for v in self.data_values for k in v)) or [
            "dataElement", "period", "orgUnit", "value"
        ]  # fmt: skip
        columns: dict[str, Any] = {
            name: pa.array(
                [None if v.get(name) is None else str(v.get(name)) for v in self.data_values],
                type=pa.string(),
            )
            for name in names
        }
        bounds: dict[str, tuple[Any, Any]] = {}
        for value in self.data_values:
            pe = str(value.get("period", ""))
            if pe not in bounds:
                try:
                    period = parse_period(pe)
                    bounds[pe] = (period.start_date, period.end_date)
                except ValueError:
                    bounds[pe] = (None, None)
        periods = [str(v.get("period", "")) for v in self.data_values]
        columns["period_start"] = pa.array([bounds[p][0] for p in periods], type=pa.date32())
        columns["period_end"] = pa.array([bounds[p][1] for p in periods], type=pa.date32())
        columns["numeric_value"] = pa.array(
            [_as_float(v.get("value")) for v in self.data_values], type=pa.float64()
        )
        return pa.table(columns)

    def to_pandas(self) -> Any:
        """The values as a pandas DataFrame (needs pandas)."""
        from prefect_dhis2.frames import arrow_to_pandas

        return arrow_to_pandas(self.to_arrow())

    def to_polars(self) -> Any:
        """The values as a polars DataFrame (needs polars)."""
        from prefect_dhis2.frames import arrow_to_polars

        return arrow_to_polars(self.to_arrow())


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    if not items:
        return [[]]
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


async def afetch_data_values(
    client: AsyncDhis2Client,
    *,
    org_units: Sequence[str],
    data_sets: Sequence[str] = (),
    data_elements: Sequence[str] = (),
    periods: Sequence[str] = (),
    start_date: date | None = None,
    end_date: date | None = None,
    children: bool = False,
    last_updated: str | None = None,
    include_deleted: bool = False,
    org_units_per_request: int = 50,
    periods_per_request: int = 12,
    logger: _Logger | None = None,
    on_progress: ProgressCallback | None = None,
) -> DataValuesExtract:
    """Read data values in concurrent chunks of org units and periods.

    Args:
        client: An open async client.
        org_units: Org unit UIDs (with `children=True`, their subtrees too).
        data_sets: Data set UIDs.
        data_elements: Data element UIDs (DHIS2 2.39+).
        periods: ISO periods (or use `start_date`/`end_date`).
        start_date: Start of a date range.
        end_date: End of a date range.
        children: Include the org units' descendants.
        last_updated: Only values changed since this date/time (incremental pulls).
        include_deleted: Include soft-deleted values.
        org_units_per_request: Org units per chunk.
        periods_per_request: Periods per chunk.
        logger: Where the progress lines go (the tasks pass the run logger);
            the `prefect_dhis2` logger when None.
        on_progress: Called with a `ChunkProgress` after each chunk (the task
            passes a Prefect progress artifact).

    Returns:
        The values, each once.

    Raises:
        ValueError: Before any request, for invalid UIDs, periods or a missing selection.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            extract = await afetch_data_values(
                client, data_sets=["BfMAe6Itzgt"], org_units=["ImspTQPwCqd"],
                periods=["202401"], children=True)
        ```
    """
    for what, items in (
        ("org unit", org_units),
        ("data set", data_sets),
        ("data element", data_elements),
    ):
        for item in items:
            if not is_valid_uid(item):
                raise ValueError(f"Invalid {what} UID {item!r}")
    for period in periods:
        parse_period(period)  # raises a ValueError naming the period
    if not org_units:
        raise ValueError("At least one org unit is needed")
    if not data_sets and not data_elements:
        raise ValueError("At least one data set or data element is needed")
    if not periods and not (start_date and end_date) and not last_updated:
        raise ValueError("Give periods, start_date and end_date, or last_updated")
    base: list[tuple[str, str]] = [("dataSet", d) for d in data_sets]
    base += [("dataElement", d) for d in data_elements]
    if start_date and end_date:
        base += [("startDate", start_date.isoformat()), ("endDate", end_date.isoformat())]
    if children:
        base.append(("children", "true"))
    if last_updated:
        base.append(("lastUpdated", last_updated))
    if include_deleted:
        base.append(("includeDeleted", "true"))
    requests = [
        [*base, *(("orgUnit", o) for o in ous), *(("period", p) for p in pes)]
        for ous in _chunks(list(org_units), org_units_per_request)
        for pes in _chunks(list(periods), periods_per_request)
    ]
    tracker = ChunkTracker(
        len(requests),
        label="Data value read",
        logger=logger or logging.getLogger("prefect_dhis2"),
        on_progress=on_progress,
    )

    async def one(params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        grouped: dict[str, Any] = {}
        for key, value in params:
            grouped.setdefault(key, []).append(value)
        data = await client.get("dataValueSets", grouped)
        values = data.get("dataValues", []) if isinstance(data, dict) else []
        found = [v for v in values if isinstance(v, dict)]
        tracker.advance(len(found))
        return found

    results = await asyncio.gather(*(one(p) for p in requests))
    seen: set[tuple[str, ...]] = set()
    values: list[dict[str, Any]] = []
    dropped = 0
    for batch in results:
        for value in batch:
            key = tuple(
                str(value.get(k, ""))
                for k in (
                    "dataElement",
                    "period",
                    "orgUnit",
                    "categoryOptionCombo",
                    "attributeOptionCombo",
                )
            )
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            values.append(value)
    return DataValuesExtract(
        base_url=client.base_url,
        data_values=values,
        requests=len(requests),
        duplicates_dropped=dropped,
    )
