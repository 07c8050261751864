"""An analytics extract as a tidy table on disk, and the numbers that summarise it.

`aexport_analytics_table` streams an extraction straight to CSV and Parquet while
its shards arrive (no table held in memory, no row turned into a record), and
records in a small manifest which answer the files hold, so an unchanged re-run
sends no analytics request.

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

import contextlib
import csv
import json
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from prefect_dhis2.analytics.extract import (
    AnalyticsExtract,
    AnalyticsExtractionError,
    AnalyticsExtractSummary,
    ProgressCallback,
    aiter_analytics_shards,
    analytics_cache_key,
)
from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.analytics.tidy import _period_bounds, tidy_columns, tidy_rows
from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.models import ServerInfo
from prefect_dhis2.writers import Column, open_table_writer

__all__ = [
    "AnalyticsTableExport",
    "AnalyticsTableSummary",
    "aexport_analytics_table",
    "summarise_extract",
    "summarise_table",
    "tidy_column_values",
    "write_analytics_table",
]

_BATCH = 65_536  # rows per Parquet row group of a streamed export


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
    """The numbers of `AnalyticsTableSummary`, counted shard by shard."""

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

    def add(self, headers: list[str], columns: dict[str, list[Any]], values: list[float]) -> None:
        self.rows += len(values)
        if "dx" not in columns or "value" not in headers:
            return
        dxs = columns["dx"]
        ous = columns.get("ou")
        pes = columns.get("pe")
        for dx in dict.fromkeys(dxs):
            self.count[dx] += 0
        for i, dx in enumerate(dxs):
            v = values[i]
            if math.isnan(v):  # no value
                continue
            self.count[dx] += 1
            self.total[dx] += v
            if dx not in self.low or v < self.low[dx]:
                self.low[dx] = v
            if dx not in self.high or v > self.high[dx]:
                self.high[dx] = v
        if ous is not None:
            for dx, ou in set(zip(dxs, ous, strict=True)):
                self.org_units[dx].add(ou)
        if pes is not None:
            for dx, pe in set(zip(dxs, pes, strict=True)):
                self.periods[dx].add(pe)

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
    """A file written under a temporary name and moved into place on success.

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
    """Writes tidy analytics columns to CSV and/or Parquet as shards arrive.

    CSV rows are written from the decoded cells (values exactly as DHIS2 sent
    them); Parquet gets Arrow record batches of at least `_BATCH` rows (one row
    group each), typed like `tidy_columns`.
    """

    def __init__(self, directory: Path, stem: str, formats: Sequence[str]) -> None:
        self.paths = {fmt: directory / f"{stem}.{fmt}" for fmt in formats}
        self.targets: dict[str, _AtomicTarget] = {}
        self.columns: list[Column] = []
        self._csv: Any = None
        self._csv_file: Any = None
        self._parquet: Any = None
        self._pending: list[Any] = []
        self._pending_rows = 0
        self._headers: list[str] | None = None
        try:
            for fmt, path in self.paths.items():
                self.targets[fmt] = _AtomicTarget(path)
        except BaseException:
            self.abort()
            raise

    def _open(self, headers: list[str]) -> None:
        self._headers = headers
        self.columns = tidy_columns(headers)
        names = [c.name for c in self.columns]
        if "csv" in self.targets:
            self._csv_file = open(self.targets["csv"].temp, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._csv = csv.writer(self._csv_file)
            self._csv.writerow(names)
        if "parquet" in self.targets:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(c.name, _ARROW_TYPES[c.type]()) for c in self.columns])
            self._parquet = pq.ParquetWriter(
                str(self.targets["parquet"].temp), schema, compression="zstd"
            )

    def write(self, headers: list[str], columns: dict[str, list[Any]], count: int) -> None:
        if self._headers is None:
            self._open(headers)
        elif headers != self._headers:
            raise ValueError(f"Analytics shards answered different columns: {headers}")
        if not count:
            return
        if self._csv is not None:
            out = [columns[c.name] for c in self.columns]
            self._csv.writerows(zip(*out, strict=True))
        if self._parquet is not None:
            self._pending.append(_arrow_batch(self.columns, columns))
            self._pending_rows += count
            if self._pending_rows >= _BATCH:
                self._flush()

    def _flush(self) -> None:
        if self._pending and self._parquet is not None:
            import pyarrow as pa

            self._parquet.write_table(pa.Table.from_batches(self._pending).combine_chunks())
        self._pending = []
        self._pending_rows = 0

    def close(self, headers: list[str]) -> dict[str, str]:
        if self._headers is None:
            self._open(headers)
        self._flush()
        if self._csv_file is not None:
            self._csv_file.close()
        if self._parquet is not None:
            self._parquet.close()
        for target in self.targets.values():
            target.commit()
        return {f"{path.stem}_{fmt}": str(path) for fmt, path in self.paths.items()}

    def abort(self) -> None:
        for closer in (self._csv_file, self._parquet):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        for target in self.targets.values():
            target.discard()


def _arrow_date32() -> Any:
    import pyarrow as pa

    return pa.date32()


def _arrow_string() -> Any:
    import pyarrow as pa

    return pa.string()


def _arrow_float64() -> Any:
    import pyarrow as pa

    return pa.float64()


_ARROW_TYPES = {"string": _arrow_string, "date": _arrow_date32, "float": _arrow_float64}


def _arrow_batch(columns: Sequence[Column], values: dict[str, list[Any]]) -> Any:
    import pyarrow as pa

    arrays = []
    for column in columns:
        cells = values[column.name]
        if column.type == "date":
            arrays.append(pa.array(values[f"_{column.name}"], type=pa.date32()))
        elif column.type == "float":
            arrays.append(pa.array(values[f"_{column.name}"], type=pa.float64(), from_pandas=True))
        else:
            arrays.append(pa.array(cells, type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=[c.name for c in columns])


def tidy_column_values(
    headers: Sequence[str], rows: Sequence[Sequence[str]], names: Mapping[str, str]
) -> tuple[dict[str, list[Any]], list[float]]:
    """The tidy columns of grid rows as lists, built column by column.

    Returns `({column: cells}, values)`: text cells for CSV (names beside ids,
    ISO dates, numbers as sent), typed lists under `_<column>` for Arrow (dates,
    floats with NaN for none), and the values as floats (NaN for none).

    Raises:
        ValueError: If a value cell is not a number.

    Examples:
        >>> cols, values = tidy_column_values(["dx", "pe", "value"],
        ...     [["fbfJHSPpUQD", "2024Q1", "12.0"]], {"fbfJHSPpUQD": "ANC 1st visit"})
        >>> cols["dx_name"], cols["pe_start"], values
        (['ANC 1st visit'], ['2024-01-01'], [12.0])
    """
    cells: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    by_header = dict(zip(headers, cells, strict=True))
    out: dict[str, list[Any]] = {}
    values: list[float] = []
    for column in tidy_columns(headers):
        name = column.name
        if column.type == "string" and name in by_header:
            out[name] = list(by_header[name])
        elif column.type == "string":  # <dim>_name
            lookup = names.get
            out[name] = [lookup(i) for i in by_header[name[:-5]]]
        elif column.type == "date":
            which = 0 if name == "pe_start" else 1
            bounds = {p: _period_bounds(p)[which] for p in set(by_header["pe"])}
            typed = [bounds[p] for p in by_header["pe"]]
            text = {p: d.isoformat() if d else None for p, d in bounds.items()}
            out[name] = [text[p] for p in by_header["pe"]]
            out[f"_{name}"] = typed
        else:
            raw = by_header[name]
            try:
                numbers = [float(c) if c != "" else math.nan for c in raw]
            except (TypeError, ValueError):
                bad = next(c for c in raw if not _is_number(c))
                raise ValueError(f"Analytics {name} {bad!r} is not a number") from None
            out[name] = [c if c != "" else None for c in raw]
            out[f"_{name}"] = numbers
            if name == "value":
                values = numbers
    if "value" not in headers:
        values = [math.nan] * len(rows)
    return out, values


def _is_number(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return bool(text == "")
    return True


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

    Rows go to disk shard by shard (`aiter_analytics_shards`, in plan order, each
    shard sorted by the natural key), so memory stays bounded by the shards in
    flight and the files are byte-identical on every run of the same request.
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
    folder = Path(directory)
    key: str | None = None
    if reuse:
        info = await client.get_server_info()
        me = await client.get_me(fields="id")
        key = _export_key(client.base_url, me.id, query, info, stem, formats)
        found = _read_manifest(folder, stem, key)
        if found is not None:
            return found
    sink = _TableSink(folder, stem, formats)
    tally = _Tally()
    stream = aiter_analytics_shards(client, query, **options)
    try:
        async with stream:
            async for shard in stream:
                columns, values = tidy_column_values(shard.headers, shard.rows, shard.names)
                sink.write(shard.headers, columns, len(shard.rows))
                tally.add(shard.headers, columns, values)
                if on_progress is not None:
                    on_progress(shard.progress)
        summary = stream.summary()
        if summary.failures:
            raise AnalyticsExtractionError(summary.base_url, summary.failures)
        files = sink.close(stream.headers)
    except BaseException:
        sink.abort()
        raise
    tally.columns = [c.name for c in sink.columns]
    tally.names = stream.names
    export = AnalyticsTableExport(extract=summary, table=tally.summary(), files=files)
    if key is not None:
        _write_manifest(folder, stem, key, export)
    return export
