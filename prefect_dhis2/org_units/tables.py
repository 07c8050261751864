"""Writers that take org unit rows as value tuples, page by page.

Pure: no Prefect. The export flattens each unit once into a tuple in column order
(`hierarchy.org_unit_values`); these writers put such tuples into the files without a
dict or a per-cell conversion per row: CSV rows go straight to `csv.writer`, Parquet
columns are built by Arrow from the transposed page. They are the `prefect_dhis2.writers`
classes (the same temporary-file-then-rename lifecycle, the same bytes out) with one
more method each; GeoJSON needs none (`writers.GeoJsonWriter` encodes features in
batches and grows its `bbox` ring by ring).

Examples:
    >>> import tempfile, pathlib
    >>> from prefect_dhis2.writers import Column
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "units.csv"
    >>> with open_values_writer(out, [Column("id"), Column("level", "int")]) as writer:
    ...     writer.write_values([("ImspTQPwCqd", 1), ("O6uvpzGd5pu", None)])
    >>> out.read_text().splitlines()
    ['id,level', 'ImspTQPwCqd,1', 'O6uvpzGd5pu,']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from prefect_dhis2.writers import (
    Column,
    CsvTableWriter,
    GeoJsonWriter,
    ParquetTableWriter,
    TableWriter,
    _columns_of,
)

__all__ = [
    "CsvValuesWriter",
    "FeatureWriter",
    "ParquetValuesWriter",
    "ValuesWriter",
    "open_values_writer",
]


class ValuesWriter(TableWriter, Protocol):
    """A table writer that also takes rows as tuples in column order."""

    def write_values(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows given as value tuples in column order (None is null)."""


class CsvValuesWriter(CsvTableWriter):
    """`CsvTableWriter` plus `write_values`.

    The cells of org unit rows are text, whole numbers, floats and None, which
    `csv.writer` renders exactly as `CsvTableWriter.write_batch` does (None as an
    empty cell, floats by `repr`); booleans, which it would render differently, are
    not among them.
    """

    def write_values(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows given as value tuples in column order."""
        self._writer.writerows(rows)
        self.rows_written += len(rows)


class ParquetValuesWriter(ParquetTableWriter):
    """`ParquetTableWriter` plus `write_values`: one row group per call, as `write_batch`.

    As in `write_batch`, an empty string is null in Parquet, dates are ISO text
    turned into `date32`, and whole numbers in a float column become floats.
    """

    def write_values(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows given as value tuples in column order."""
        import pyarrow as pa

        if not rows:
            return
        arrays = []
        cells = _columns_of(rows, len(self.columns))
        for column, field, values in zip(self.columns, self._schema, cells, strict=True):
            if column.type == "string":
                arrays.append(pa.array([v or None for v in values], field.type))
            elif column.type == "date":
                text = pa.array([v or None for v in values], pa.string())
                arrays.append(text.cast(field.type))
            else:
                arrays.append(pa.array([None if v == "" else v for v in values], field.type))
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        self.rows_written += len(rows)


def open_values_writer(path: str | os.PathLike[str], columns: Sequence[Column]) -> ValuesWriter:
    """Open a CSV or Parquet values writer for `path`, by its suffix.

    Raises:
        ValueError: For a suffix other than `.csv` and `.parquet`.
    """
    target = Path(path)
    kind = target.suffix.lstrip(".").lower()
    if kind == "csv":
        return CsvValuesWriter(target, columns)
    if kind == "parquet":
        return ParquetValuesWriter(target, columns)
    raise ValueError(f"Unknown table format {kind!r}: use 'csv' or 'parquet'")


class FeatureWriter(GeoJsonWriter):
    """The export's GeoJSON writer: `GeoJsonWriter` (kept as a name of this module)."""
