"""Extracts as Arrow tables, and from there pandas or polars DataFrames (pure, optional deps).

Every extract of the package (`AnalyticsExtract`, `DataValuesExtract`,
`OrgUnitGeometryExtract`) has `to_arrow()`, `to_pandas()` and `to_polars()`; lists
of records (flattened org units, metadata catalogues) convert with
`records_to_arrow`. Arrow is built column by column, never row by row; pandas and
polars are optional (`pip install 'prefect-dhis2[pandas]'` or `[polars]`) and
share Arrow's buffers where they can.

Examples:
    >>> table = records_to_arrow([{"id": "ImspTQPwCqd", "level": 1}, {"id": "O6uvpzGd5pu"}])
    >>> table.column_names, table.column("level").to_pylist()
    (['id', 'level'], [1, None])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["arrow_to_pandas", "arrow_to_polars", "records_to_arrow"]


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Arrow tables need pyarrow: pip install 'prefect-dhis2[parquet]'"
        ) from None
    return pa


def records_to_arrow(
    records: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> Any:
    """An Arrow table of `records` (column order: `columns`, else first seen).

    Values are typed by Arrow's inference per column (numbers as numbers,
    nested values as structs or lists); missing keys are null.
    """
    pa = _pyarrow()
    rows = list(records)
    names = (
        list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    )
    return pa.table({name: pa.array([r.get(name) for r in rows]) for name in names})


def arrow_to_pandas(table: Any) -> Any:
    """A pandas DataFrame of an Arrow table (needs pandas)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install 'prefect-dhis2[pandas]'") from None
    return table.to_pandas()


def arrow_to_polars(table: Any) -> Any:
    """A polars DataFrame of an Arrow table (needs polars; no copy where possible)."""
    try:
        import polars as pl
    except ImportError:
        raise ImportError("to_polars() needs polars: pip install 'prefect-dhis2[polars]'") from None
    return pl.from_arrow(table)
