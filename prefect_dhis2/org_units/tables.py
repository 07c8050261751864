"""Writers that take org unit rows as value tuples, page by page.

Pure: no Prefect. The export flattens each unit once into a tuple in column order
(`hierarchy.org_unit_values`); these writers put such tuples into the files without a
dict or a per-cell conversion per row: CSV rows go straight to `csv.writer`, Parquet
columns are built by Arrow from the transposed page, GeoJSON features are encoded with
one reused encoder and the `bbox` grows ring by ring. They are the `prefect_dhis2.writers`
classes (the same temporary-file-then-rename lifecycle, the same bytes out) with one
more method each.

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

import json
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from prefect_dhis2.writers import (
    Column,
    CsvTableWriter,
    GeoJsonWriter,
    ParquetTableWriter,
    TableWriter,
    extend_bbox,
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
        for column, field, values in zip(
            self.columns, self._schema, zip(*rows, strict=True), strict=True
        ):
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


# `json.dumps(feature, separators=(",", ":"))` builds this encoder on every call.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


_X, _Y = operator.itemgetter(0), operator.itemgetter(1)


def _grow_bbox(box: list[float], coordinates: Any) -> None:
    """`extend_bbox`, a ring (list of positions) at a time instead of a point at a time."""
    if not isinstance(coordinates, list) or not coordinates:
        return
    first = coordinates[0]
    if isinstance(first, int | float):  # a position
        extend_bbox(box, coordinates)
        return
    if isinstance(first, list) and first and isinstance(first[0], int | float):
        try:  # a ring: min and max in C over the whole list
            west, east = float(min(map(_X, coordinates))), float(max(map(_X, coordinates)))
            south, north = float(min(map(_Y, coordinates))), float(max(map(_Y, coordinates)))
        except (TypeError, IndexError, KeyError):  # not a list of positions after all
            extend_bbox(box, coordinates)
            return
        box[0], box[1] = min(box[0], west), min(box[1], south)
        box[2], box[3] = max(box[2], east), max(box[3], north)
        return
    for part in coordinates:
        _grow_bbox(box, part)


class FeatureWriter(GeoJsonWriter):
    """`GeoJsonWriter` with a faster `write_features` that writes the same bytes."""

    def write_features(self, features: Iterable[Mapping[str, Any]]) -> None:
        """Append features (their geometry grows the `bbox`)."""
        parts: list[str] = []
        for feature in features:
            geometry = feature.get("geometry")
            if isinstance(geometry, Mapping):
                _grow_bbox(self.bbox, geometry.get("coordinates"))
            parts.append(",\n" if self.rows_written or parts else "\n")
            parts.append(_ENCODE(feature))
        self._file.write("".join(parts))
        self.rows_written += len(parts) // 2
