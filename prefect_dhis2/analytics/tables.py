"""An analytics extract as a tidy table on disk, and the numbers that summarise it.

`aexport_analytics_table` streams an extraction straight to CSV and Parquet while
its shards arrive (no table held in memory, no row turned into a record), and
records in a small manifest which answer the files hold, so an unchanged re-run
sends no analytics request.

`write_analytics_table` writes a whole extract the same way (`tidy_arrow`, then
`prefect_dhis2.writers.ArrowTableWriter`), so the same rows give the same bytes
streamed or not. `summarise_table` reads the same rows once for what a report
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

import asyncio
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from prefect_dhis2.analytics.extract import (
    AnalyticsExtract,
    AnalyticsExtractionError,
    AnalyticsExtractSummary,
    AnalyticsShard,
    ProgressCallback,
    aiter_analytics_shards,
    analytics_cache_key,
)
from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.analytics.tidy import tidy_arrow, tidy_columns
from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.models import ServerInfo
from prefect_dhis2.writers import ArrowTableWriter, abort_all, close_all

__all__ = [
    "AnalyticsTableExport",
    "AnalyticsTableSummary",
    "aexport_analytics_table",
    "summarise_extract",
    "summarise_table",
    "write_analytics_table",
]

_BATCH = 65_536  # rows per Parquet row group of a streamed export
_WRITE_ROWS = 16_384
"""Rows of consecutive shards turned into one Arrow table and written together: one
thread hop and one conversion per ~16k rows, not per shard (often under 1,000 rows)."""


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

    The rows go through `tidy_arrow` and `prefect_dhis2.writers.ArrowTableWriter`
    in slices of 65,536, the same path as the streamed export, so the same rows
    give the same bytes either way. Files appear only complete.

    Examples:
        ```python
        files = write_analytics_table(extract, "exports", ["csv", "parquet"])
        ```
    """
    sink = _TableSink(Path(directory), stem, formats)
    try:
        rows = extract.rows
        for start in range(0, len(rows), _BATCH):
            sink.write(tidy_arrow(extract.headers, rows[start : start + _BATCH], extract.names))
        files = sink.close(tidy_arrow(extract.headers, [], {}))
    except BaseException:
        sink.abort()
        raise
    return files


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


# ---------------------------------------------------------------- streamed export


class AnalyticsTableExport(BaseModel):
    """What a streamed table export fetched and wrote.

    Attributes:
        extract: How the extraction went (shards, splits, failures, duration).
        table: The tidy table in numbers, one summary row per data item.
        files: `{"<stem>_<fmt>": path}` of the files written.
        cached: True when the files on disk already held this answer (same
            instance, user, request and analytics freshness) and nothing was fetched.
    """

    extract: AnalyticsExtractSummary
    table: AnalyticsTableSummary
    files: dict[str, str] = Field(default_factory=dict)
    cached: bool = False


class _Tally:
    """The numbers of `AnalyticsTableSummary`, counted shard by shard (Arrow compute)."""

    def __init__(self) -> None:
        self.rows = 0
        self.columns: list[str] = []
        self.count: dict[str, int] = defaultdict(int)
        self.total: dict[str, float] = defaultdict(float)
        self.low: dict[str, float] = {}
        self.high: dict[str, float] = {}
        self.org_units: dict[str, set[str]] = defaultdict(set)
        self.periods: dict[str, set[str]] = defaultdict(set)
        self.names: dict[str, str] = {}

    def add(self, table: Any) -> None:
        import pyarrow.compute as pc

        self.rows += table.num_rows
        names = table.column_names
        if not table.num_rows or "dx" not in names or "value" not in names:
            return
        data_items = pc.unique(table.column("dx"))
        if len(data_items) == 1:  # most shards: one data item, nothing to group
            self._add_item(data_items[0].as_py(), table)
            return
        stats = table.group_by("dx").aggregate(
            [("value", "count"), ("value", "sum"), ("value", "min"), ("value", "max")]
        )
        for row in stats.to_pylist():
            self._add_stats(
                row["dx"], row["value_count"], row["value_sum"], row["value_min"], row["value_max"]
            )
        for dim, seen in (("ou", self.org_units), ("pe", self.periods)):
            if dim in names:
                pairs = table.select(["dx", dim]).group_by(["dx", dim]).aggregate([])
                for dx, item in zip(
                    pairs.column("dx").to_pylist(), pairs.column(dim).to_pylist(), strict=True
                ):
                    seen[dx].add(item)

    def _add_item(self, dx: str, table: Any) -> None:
        import pyarrow.compute as pc

        values = table.column("value")
        count = len(values) - values.null_count
        bounds = pc.min_max(values)
        self._add_stats(
            dx, count, pc.sum(values).as_py(), bounds["min"].as_py(), bounds["max"].as_py()
        )
        for dim, seen in (("ou", self.org_units), ("pe", self.periods)):
            if dim in table.column_names:
                seen[dx].update(pc.unique(table.column(dim)).to_pylist())

    def _add_stats(self, dx: str, count: int, total: Any, low: Any, high: Any) -> None:
        self.count[dx] += count
        if count:
            self.total[dx] += total
            self.low[dx] = min(self.low.get(dx, low), low)
            self.high[dx] = max(self.high.get(dx, high), high)

    def summary(self) -> AnalyticsTableSummary:
        table = AnalyticsTableSummary(rows=self.rows, columns=self.columns)
        if not self.count:
            return table
        table.by_data_item = [
            {
                "dx": dx,
                "name": self.names.get(dx, ""),
                "rows": self.count[dx],
                "org_units": len(self.org_units[dx]),
                "periods": len(self.periods[dx]),
                "total": round(self.total[dx], 2),
                "min": self.low.get(dx),
                "max": self.high.get(dx),
            }
            for dx in sorted(self.count)
        ]
        table.data_items = len(self.count)
        table.org_units = len(set().union(*self.org_units.values()))
        table.periods = len(set().union(*self.periods.values()))
        return table


class _AtomicTarget:
    """A small file (the manifest) written under a temporary name and moved into place.

    The file gets the mode a plain `open()` would give it (0666 less the umask).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        self.temp = Path(temp)

    def commit(self) -> None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.temp, 0o666 & ~umask)
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


class _TableSink:
    """Writes tidy Arrow tables to CSV and/or Parquet as shards arrive.

    One `prefect_dhis2.writers.ArrowTableWriter` per format (Arrow's C++ writers,
    outside the GIL; the same bytes as `write_analytics_table` gives the same
    table), opened on the first table; each file lives under a temporary name
    until `close()`.
    """

    def __init__(self, directory: Path, stem: str, formats: Sequence[str]) -> None:
        self.directory = directory
        self.paths = {fmt: directory / f"{stem}.{fmt}" for fmt in formats}
        self.writers: list[ArrowTableWriter] = []
        self._schema: Any = None
        directory.mkdir(parents=True, exist_ok=True)

    def _open(self, schema: Any) -> None:
        self._schema = schema
        for fmt, path in self.paths.items():
            self.writers.append(ArrowTableWriter(path, schema, fmt))  # type: ignore[arg-type]

    def write(self, table: Any) -> None:
        if self._schema is None:
            self._open(table.schema)
        for writer in self.writers:
            writer.write(table)

    def close(self, empty: Any) -> dict[str, str]:
        if self._schema is None:
            self._open(empty.schema)
        close_all(self.writers)
        return {f"{path.stem}_{fmt}": str(path) for fmt, path in self.paths.items()}

    def abort(self) -> None:
        abort_all(self.writers)


def _export_key(
    base_url: str,
    user_id: str,
    query: AnalyticsQuery,
    info: ServerInfo,
    stem: str,
    formats: Sequence[str],
) -> str:
    return json.dumps([analytics_cache_key(base_url, user_id, query, info), stem, sorted(formats)])


def _manifest_path(directory: Path, stem: str) -> Path:
    return directory / f".{stem}.manifest.json"


def _read_manifest(directory: Path, stem: str, key: str) -> AnalyticsTableExport | None:
    """The export recorded next to the files, if they still hold the answer to `key`."""
    try:
        stored = json.loads(_manifest_path(directory, stem).read_text(encoding="utf-8"))
        if stored.get("key") != key:
            return None
        for path, size in stored["sizes"].items():
            if Path(path).stat().st_size != size:
                return None
        export = AnalyticsTableExport.model_validate(stored["export"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return export.model_copy(update={"cached": True})


def _write_manifest(directory: Path, stem: str, key: str, export: AnalyticsTableExport) -> None:
    target = _AtomicTarget(_manifest_path(directory, stem))
    try:
        sizes = {path: Path(path).stat().st_size for path in export.files.values()}
        target.temp.write_text(
            json.dumps({"key": key, "sizes": sizes, "export": export.model_dump(mode="json")}),
            encoding="utf-8",
        )
        target.commit()
    except BaseException:
        target.discard()
        raise


async def aexport_analytics_table(
    client: AsyncDhis2Client,
    query: AnalyticsQuery,
    directory: str | Path,
    formats: Sequence[str] = ("csv", "parquet"),
    *,
    stem: str = "analytics",
    reuse: bool = True,
    on_progress: ProgressCallback | None = None,
    **options: Any,
) -> AnalyticsTableExport:
    """Extract `query` and write its tidy table while the shards arrive (CSV and/or Parquet).

    Rows go to disk as the shards arrive (`aiter_analytics_shards`, in plan order,
    each shard sorted by the natural key; consecutive shards are converted and
    written together, about 16,000 rows at a time), so memory stays bounded by the
    shards in flight and the files are byte-identical on every run of the same request.
    Files appear only complete: they are written under temporary names and
    moved into place at the end (or removed when the extraction fails).

    A small manifest next to the files (`.<stem>.manifest.json`) records which
    answer they hold (instance, user, canonical request, the server's analytics
    freshness); with `reuse`, an unchanged re-run finds it and sends no
    analytics request at all.

    Args:
        client: An open async client.
        query: The request.
        directory: Where to write.
        formats: `csv` and/or `parquet`.
        stem: File name stem (`analytics.csv`, `analytics.parquet`).
        reuse: Skip the extraction when the files already hold this answer.
        on_progress: Called after each finished planned shard.
        **options: Options of `aiter_analytics_shards` (`max_rows`, `slot`, ...).

    Returns:
        What was fetched and written.

    Raises:
        AnalyticsExtractionError: If some shards failed (no file is left behind).

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            export = await aexport_analytics_table(client, query, "exports")
        print(export.table.rows, export.files)
        ```
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The streamed analytics export needs pyarrow: pip install 'prefect-dhis2[parquet]'"
        ) from None
    folder = Path(directory)
    key: str | None = None
    if reuse:
        # Two independent reads: one round trip instead of two before the first shard.
        info, me = await asyncio.gather(client.get_server_info(), client.get_me(fields="id"))
        key = _export_key(client.base_url, me.id, query, info, stem, formats)
        found = _read_manifest(folder, stem, key)
        if found is not None:
            return found
    sink = _TableSink(folder, stem, formats)
    tally = _Tally()
    stream = aiter_analytics_shards(client, query, **options)
    held: list[AnalyticsShard] = []  # shards not written yet, in plan order
    held_rows = 0

    def write(shards: list[AnalyticsShard]) -> None:
        rows: list[Any] = []
        names: dict[str, str] = {}
        for shard in shards:
            rows += shard.rows
            names.update(shard.names)
        headers = next((shard.headers for shard in shards if shard.headers), [])
        table = tidy_arrow(headers, rows, names)
        sink.write(table)
        tally.add(table)

    try:
        async with stream:
            async for shard in stream:
                held.append(shard)
                held_rows += len(shard.rows)
                if held_rows >= _WRITE_ROWS:
                    # Arrow works outside the GIL: the next shards keep arriving meanwhile.
                    await asyncio.to_thread(write, held)
                    held, held_rows = [], 0
                if on_progress is not None:
                    on_progress(shard.progress)
            if held:
                await asyncio.to_thread(write, held)
                held = []
        summary = stream.summary()
        if summary.failures:
            raise AnalyticsExtractionError(summary.base_url, summary.failures, stream.names)
        empty = tidy_arrow(stream.headers, [], {})
        files = sink.close(empty)
    except BaseException:
        sink.abort()
        raise
    tally.columns = empty.column_names
    tally.names = stream.names
    export = AnalyticsTableExport(extract=summary, table=tally.summary(), files=files)
    if key is not None:
        _write_manifest(folder, stem, key, export)
    return export
