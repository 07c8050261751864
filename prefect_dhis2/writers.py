"""Table and GeoJSON writers: batch by batch, atomic, one writer per format.

Every writer writes to a temporary file next to the target and renames it into
place only when the writer is closed without error, so an interrupted export
never leaves a file that looks complete. `abort()` never raises (a disk that is
full fails the write, and again the flush while the file is dropped): one
failing writer cannot keep the others from being cleaned up. `close_all` and
`abort_all` finish or drop a group of writers whatever one of them raises.

Files are created like a plain `open()` would create them: mode `0o666` less the
process umask (so `umask 022` gives `rw-r--r--`), or the `file_mode` a writer is
given.

Examples:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "units.csv"
    >>> columns = [Column("id", "string"), Column("level", "int")]
    >>> with open_table_writer(out, columns) as writer:
    ...     writer.write_batch([{"id": "ImspTQPwCqd", "level": 1}])
    >>> out.read_text().splitlines()
    ['id,level', 'ImspTQPwCqd,1']
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import operator
import os
import secrets
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

__all__ = [
    "ArrowTableWriter",
    "Column",
    "ColumnType",
    "CsvTableWriter",
    "GeoJsonWriter",
    "ParquetTableWriter",
    "TableFormat",
    "TableWriter",
    "abort_all",
    "close_all",
    "default_table_formats",
    "ensure_writable_dir",
    "extend_bbox",
    "open_table_writer",
    "resolve_output_dir",
    "resolve_table_formats",
    "write_table",
]

ColumnType = Literal["string", "int", "float", "bool", "date"]
TableFormat = Literal["csv", "parquet"]


@dataclass(frozen=True)
class Column:
    """A typed output column.

    Attributes:
        name: Column name.
        type: `string`, `int`, `float`, `bool` or `date` (ISO `yyyy-mm-dd` text in CSV).
    """

    name: str
    type: ColumnType = "string"


class TableWriter(Protocol):
    """What every table writer offers."""

    path: Path
    rows_written: int

    def write_batch(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows (mappings from column name to value; missing keys are null)."""

    def close(self) -> None:
        """Finish the file and move it into place."""

    def abort(self) -> None:
        """Drop the partial file; the target is left untouched."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def ensure_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` if needed and check that files can be written there.

    Raises:
        PermissionError: With a clear message when the directory is not writable.
        NotADirectoryError: When `path` is a file.
    """
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"Output path {directory} exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise PermissionError(
            f"Cannot write to output directory {directory}: {exc.strerror or exc}"
        ) from None
    return directory


def resolve_output_dir(output_dir: str | os.PathLike[str] | None, prefix: str) -> Path:
    """The checked output directory of a run (a new temporary one when None).

    Raises:
        PermissionError: If the directory cannot be written, before any request.

    Examples:
        >>> resolve_output_dir(None, "dhis2-export").name.startswith("dhis2-export-")
        True
    """
    if output_dir is None:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    return ensure_writable_dir(output_dir)


def default_table_formats() -> list[str]:
    """`["csv", "parquet"]` when pyarrow is installed, else `["csv"]`."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return ["csv"]
    return ["csv", "parquet"]


def resolve_table_formats(formats: Sequence[str] | None) -> list[str]:
    """The table formats a run writes: CSV always (first), plus Parquet when asked.

    Args:
        formats: Requested formats (`csv`, `parquet`), or None for the default.

    Returns:
        The formats, CSV first, without repeats.

    Raises:
        ValueError: For an unknown format, before any request.
        ImportError: When Parquet is asked for and pyarrow is missing.

    Examples:
        >>> resolve_table_formats(["parquet"])
        ['csv', 'parquet']
    """
    if formats is None:
        return default_table_formats()
    chosen = list(dict.fromkeys(str(f).lower() for f in formats))
    unknown = [f for f in chosen if f not in ("csv", "parquet")]
    if unknown:
        raise ValueError(f"Unknown table format(s) {unknown}: use 'csv' and/or 'parquet'")
    if "parquet" in chosen and default_table_formats() == ["csv"]:
        raise ImportError("Parquet output needs pyarrow: pip install 'prefect-dhis2[parquet]'")
    return ["csv", *(["parquet"] if "parquet" in chosen else [])]


def _columns_of(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """The cells of `rows` column by column; every row must have `width` cells.

    Built by index, one list per column. Transposing with `zip(*rows)` would make one
    iterator per row, each tracked by Python's garbage collector: alive across the
    young collections of a long stream of pages, they are promoted and bring on
    full collections over the whole heap (0.25 s each in a Prefect flow run).

    Raises:
        ValueError: If a row has another number of cells.

    Examples:
        >>> _columns_of([("a", 1), ("b", 2)], 2)
        [['a', 'b'], [1, 2]]
    """
    if set(map(len, rows)) - {width}:
        bad = next(row for row in rows if len(row) != width)
        raise ValueError(f"A row of {len(bad)} cells where {width} were expected: {list(bad)}")
    return [list(map(operator.itemgetter(i), rows)) for i in range(width)]


def _create_temp(target: Path, suffix: str) -> Path:
    """A new empty file next to `target`, created with mode 0o666 less the umask.

    `tempfile.mkstemp` would create it 0600, and the rename would carry that mode to
    the output: other users of a shared export folder could not read it.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(temp, flags, 0o666))
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        return temp


class _AtomicFile(ABC):
    """Shared temp-file-then-rename lifecycle."""

    path: Path

    def __init__(self, path: Path, suffix: str, file_mode: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._temp = _create_temp(self.path, suffix)
        self._file_mode = file_mode
        self._closed = False
        self.rows_written = 0

    def _open_failed(self) -> None:
        """Called by a subclass whose `__init__` failed after the temp file was made."""
        self._closed = True
        self._temp.unlink(missing_ok=True)

    @abstractmethod
    def _finish(self) -> None:
        """Flush and close the temporary file (it is then renamed into place)."""

    @abstractmethod
    def _discard(self) -> None:
        """Close the temporary file without finishing it (it is then deleted)."""

    def close(self) -> None:
        """Finish the file and move it into place (the temp file is gone either way)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._finish()
            if self._file_mode is not None:
                os.chmod(self._temp, self._file_mode)
            os.replace(self._temp, self.path)
        except BaseException:
            with contextlib.suppress(BaseException):
                self._discard()
            self._temp.unlink(missing_ok=True)
            raise

    def abort(self) -> None:
        """Drop the partial file; never raises, so every writer of a group is cleaned up."""
        if self._closed:
            return
        self._closed = True
        # A full disk fails the buffered flush of the close again: that error says
        # nothing new (the write already failed) and must not stop the clean-up.
        with contextlib.suppress(Exception):
            self._discard()
        with contextlib.suppress(OSError):
            self._temp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _Finishable(Protocol):
    def close(self) -> None: ...

    def abort(self) -> None: ...


def abort_all(writers: Iterable[_Finishable | None]) -> None:
    """Abort every writer (None entries are skipped); never raises.

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> writers = [open_table_writer(folder / "a.csv", [Column("id")]), None]
        >>> abort_all(writers)
        >>> list(folder.iterdir())
        []
    """
    for writer in writers:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.abort()


def close_all(writers: Iterable[_Finishable | None]) -> None:
    """Close every writer in order; if one fails, abort the rest and raise its error.

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> close_all([open_table_writer(folder / "a.csv", [Column("id")])])
        >>> [p.name for p in folder.iterdir()]
        ['a.csv']
    """
    pending = [w for w in writers if w is not None]
    for index, writer in enumerate(pending):
        try:
            writer.close()
        except BaseException:
            abort_all(pending[index + 1 :])
            raise


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return value


class CsvTableWriter(_AtomicFile):
    """Write rows to CSV (UTF-8, header row, empty cells for nulls).

    Args:
        path: The target file.
        columns: The typed columns, in output order.
        file_mode: Permission bits of the finished file (default: like `open()`,
            0o666 less the umask).
    """

    def __init__(
        self, path: Path, columns: Sequence[Column], *, file_mode: int | None = None
    ) -> None:
        super().__init__(path, ".tmp", file_mode)
        self.columns = list(columns)
        self._names = [c.name for c in self.columns]
        try:
            self._file = open(self._temp, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._writer = csv.writer(self._file)
            self._writer.writerow(self._names)
        except BaseException:
            if hasattr(self, "_file"):
                with contextlib.suppress(Exception):
                    self._file.close()
            self._open_failed()
            raise

    def write_batch(self, rows: Sequence[Mapping[str, Any]]) -> None:
        names = self._names
        self._writer.writerows([_csv_cell(row.get(n)) for n in names] for row in rows)
        self.rows_written += len(rows)

    def _finish(self) -> None:
        self._file.close()

    def _discard(self) -> None:
        self._file.close()


def _arrow_type(kind: ColumnType) -> Any:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
    }[kind]


class ParquetTableWriter(_AtomicFile):
    """Write rows to Parquet (pyarrow; one row group per batch, zstd).

    Args:
        path: The target file.
        columns: The typed columns, in output order.
        file_mode: Permission bits of the finished file (default: like `open()`).
    """

    def __init__(
        self, path: Path, columns: Sequence[Column], *, file_mode: int | None = None
    ) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Parquet output needs pyarrow: pip install 'prefect-dhis2[parquet]'"
            ) from None
        super().__init__(path, ".tmp", file_mode)
        self.columns = list(columns)
        try:
            self._schema = pa.schema([(c.name, _arrow_type(c.type)) for c in self.columns])
            self._writer = pq.ParquetWriter(str(self._temp), self._schema, compression="zstd")
        except BaseException:
            self._open_failed()
            raise

    def write_batch(self, rows: Sequence[Mapping[str, Any]]) -> None:
        import pyarrow as pa

        if not rows:
            return
        arrays = []
        for column in self.columns:
            values = [_arrow_value(row.get(column.name), column.type) for row in rows]
            arrays.append(pa.array(values, type=_arrow_type(column.type)))
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        self.rows_written += len(rows)

    def _finish(self) -> None:
        self._writer.close()

    def _discard(self) -> None:
        self._writer.close()


def _arrow_value(value: Any, kind: ColumnType) -> Any:
    if value is None or value == "":
        return None
    if kind == "date" and isinstance(value, str):
        from datetime import date

        return date.fromisoformat(value[:10])
    if kind == "float" and isinstance(value, int | float):
        return float(value)
    return value


_ROW_GROUP_ROWS = 65_536
"""Rows buffered into one Parquet row group by `ArrowTableWriter` (small shards are joined)."""


class ArrowTableWriter(_AtomicFile):
    """Write Arrow tables to CSV or Parquet as they come, with Arrow's own writers.

    This is the one write path of Arrow data in the package: the same table
    gives the same bytes whether it is written at once or streamed in
    pieces. CSV is UTF-8 with a header row, strings quoted,
    nulls empty and numbers as Arrow prints them (`12`, `0.5`); Parquet is
    zstd-compressed, in row groups of exactly `row_group_rows` rows (the last
    one smaller) however the rows came in. Both writers run in C++ and release the
    GIL, so a stream can write in a worker thread while the event loop fetches.

    Args:
        path: The target file.
        schema: The Arrow schema every table written must have.
        format: `csv` or `parquet`; default from the suffix of `path`.
        file_mode: Permission bits of the finished file (default: like `open()`).
        row_group_rows: Rows per Parquet row group (ignored for CSV).

    Raises:
        ValueError: For an unknown format, or a table of another schema.

    Examples:
        >>> import tempfile, pathlib, pyarrow as pa
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "values.csv"
        >>> table = pa.table({"dx": ["fbfJHSPpUQD"], "value": [12.0]})
        >>> with ArrowTableWriter(out, table.schema) as writer:
        ...     writer.write(table)
        >>> out.read_text().splitlines()
        ['"dx","value"', '"fbfJHSPpUQD",12']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Any,
        format: TableFormat | None = None,
        *,
        file_mode: int | None = None,
        row_group_rows: int = _ROW_GROUP_ROWS,
    ) -> None:
        target = Path(path)
        kind = format or target.suffix.lstrip(".").lower()
        if kind not in ("csv", "parquet"):
            raise ValueError(f"Unknown table format {kind!r}: use 'csv' or 'parquet'")
        try:
            import pyarrow.csv as pa_csv
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Arrow tables need pyarrow: pip install 'prefect-dhis2[parquet]'"
            ) from None
        super().__init__(target, ".tmp", file_mode)
        self.format = kind
        self.schema = schema
        self.row_group_rows = max(row_group_rows, 1)
        self._pending: list[Any] = []
        self._pending_rows = 0
        try:
            if kind == "csv":
                self._writer: Any = pa_csv.CSVWriter(
                    str(self._temp),
                    schema,
                    write_options=pa_csv.WriteOptions(quoting_style="needed"),
                )
            else:
                self._writer = pq.ParquetWriter(str(self._temp), schema, compression="zstd")
        except BaseException:
            self._open_failed()
            raise

    def write(self, table: Any) -> None:
        """Append an Arrow table or record batch of the writer's schema."""
        if not table.schema.equals(self.schema):
            raise ValueError(
                f"Table of another schema for {self.path.name}: {table.schema} "
                f"(expected {self.schema})"
            )
        if not table.num_rows:
            return
        self.rows_written += table.num_rows
        if self.format == "csv":
            self._writer.write(table)
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= self.row_group_rows:
            self._flush()

    def _flush(self, *, final: bool = False) -> None:
        """Write whole row groups of `row_group_rows` (and, when `final`, the rest).

        Row groups never depend on how the rows were chunked on the way in, so the
        same table gives the same file streamed or written at once.
        """
        if not self._pending:
            return
        import pyarrow as pa

        tables = [
            pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t
            for t in self._pending
        ]
        pending = pa.concat_tables(tables)
        size = self.row_group_rows
        start = 0
        while pending.num_rows - start >= size or (final and start < pending.num_rows):
            group = pending.slice(start, size).combine_chunks()
            self._writer.write_table(group, row_group_size=group.num_rows)
            start += group.num_rows
        rest = pending.slice(start)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def _finish(self) -> None:
        if self.format == "parquet":
            self._flush(final=True)
        self._writer.close()

    def _discard(self) -> None:
        self._pending = []
        self._writer.close()


def open_table_writer(
    path: str | os.PathLike[str],
    columns: Sequence[Column],
    format: TableFormat | None = None,
    *,
    file_mode: int | None = None,
) -> TableWriter:
    """Open an atomic writer for `path`; the format comes from the suffix unless given.

    Args:
        path: The target file (`.csv` or `.parquet`).
        columns: The typed columns, in output order.
        format: `csv` or `parquet`, overriding the suffix.
        file_mode: Permission bits of the finished file, e.g. `0o640`; None
            creates it as `open()` would (0o666 less the umask).

    Returns:
        A writer; use it as a context manager.

    Raises:
        ValueError: For an unknown format.
    """
    target = Path(path)
    kind = format or target.suffix.lstrip(".").lower()
    if kind == "csv":
        return CsvTableWriter(target, columns, file_mode=file_mode)
    if kind == "parquet":
        return ParquetTableWriter(target, columns, file_mode=file_mode)
    raise ValueError(f"Unknown table format {kind!r}: use 'csv' or 'parquet'")


def write_table(
    path: str | os.PathLike[str],
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = 10_000,
    file_mode: int | None = None,
) -> int:
    """Write all `rows` to `path` atomically; returns the row count."""
    with open_table_writer(path, columns, file_mode=file_mode) as writer:
        batch: list[Mapping[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                writer.write_batch(batch)
                batch = []
        writer.write_batch(batch)
        return writer.rows_written


def _point_bbox(box: list[float], coordinates: Any) -> None:
    """Grow `box` a point at a time (for shapes that are not lists of positions)."""
    if not isinstance(coordinates, list) or not coordinates:
        return
    if isinstance(coordinates[0], int | float):
        x, y = float(coordinates[0]), float(coordinates[1])
        box[0], box[1] = min(box[0], x), min(box[1], y)
        box[2], box[3] = max(box[2], x), max(box[3], y)
        return
    for part in coordinates:
        _point_bbox(box, part)


_X, _Y = operator.itemgetter(0), operator.itemgetter(1)


def extend_bbox(box: list[float], coordinates: Any) -> None:
    """Grow `box` (`[west, south, east, north]`) to cover GeoJSON `coordinates` of any depth.

    A ring (a list of positions) is measured whole, its minima and maxima in C.

    Examples:
        >>> box = [math.inf, math.inf, -math.inf, -math.inf]
        >>> extend_bbox(box, [[[-13.0, 7.0], [-12.0, 7.5]]])
        >>> box
        [-13.0, 7.0, -12.0, 7.5]
    """
    if not isinstance(coordinates, list) or not coordinates:
        return
    first = coordinates[0]
    if isinstance(first, int | float):  # a position
        _point_bbox(box, coordinates)
        return
    if isinstance(first, list) and first and isinstance(first[0], int | float):
        try:  # a ring
            west, east = float(min(map(_X, coordinates))), float(max(map(_X, coordinates)))
            south, north = float(min(map(_Y, coordinates))), float(max(map(_Y, coordinates)))
        except (TypeError, IndexError, KeyError):  # not a list of positions after all
            _point_bbox(box, coordinates)
            return
        box[0], box[1] = min(box[0], west), min(box[1], south)
        box[2], box[3] = max(box[2], east), max(box[3], north)
        return
    for part in coordinates:
        extend_bbox(box, part)


# `json.dumps(feature, separators=(",", ":"))` builds this encoder on every call.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


class GeoJsonWriter(_AtomicFile):
    """Stream a GeoJSON FeatureCollection, with its `bbox` computed on the way.

    Coordinates are written as given (DHIS2 uses lon/lat, as GeoJSON does).

    Examples:
        >>> import tempfile, pathlib, json
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "ou.geojson"
        >>> with GeoJsonWriter(out) as geo:
        ...     geo.write_features([{"type": "Feature", "properties": {"id": "a"},
        ...         "geometry": {"type": "Point", "coordinates": [-11.7, 8.1]}}])
        >>> json.loads(out.read_text())["bbox"]
        [-11.7, 8.1, -11.7, 8.1]
    """

    def __init__(self, path: Path, *, file_mode: int | None = None) -> None:
        super().__init__(path, ".tmp", file_mode)
        try:
            self._file = open(self._temp, "w", encoding="utf-8")  # noqa: SIM115
            self._file.write('{"type": "FeatureCollection", "features": [')
        except BaseException:
            self._open_failed()
            raise
        self.bbox = [math.inf, math.inf, -math.inf, -math.inf]

    def write_features(self, features: Iterable[Mapping[str, Any]]) -> None:
        parts: list[str] = []
        for feature in features:
            geometry = feature.get("geometry")
            if isinstance(geometry, Mapping):
                extend_bbox(self.bbox, geometry.get("coordinates"))
            parts.append(",\n" if self.rows_written or parts else "\n")
            parts.append(_ENCODE(feature))
        self._file.write("".join(parts))  # one write per batch of features
        self.rows_written += len(parts) // 2

    def _finish(self) -> None:
        self._file.write("\n]")
        if self.rows_written and math.isfinite(self.bbox[0]):
            self._file.write(f', "bbox": {json.dumps(self.bbox)}')
        self._file.write("}\n")
        self._file.close()

    def _discard(self) -> None:
        self._file.close()
