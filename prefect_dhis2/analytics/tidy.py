"""Analytics grids as tidy, typed tables.

DHIS2 analytics answers with a grid whose cells are all strings. `tidy_rows`
turns each row into a record with one column per dimension plus its display
name (`dx`, `dx_name`, `ou`, `ou_name`, ...), the start and end dates of the
period, the value as a number and, with `includeNumDen`, the numerator,
denominator and factor. `tidy_columns` gives the matching typed columns for
`prefect_dhis2.writers`.

Examples:
    >>> headers = ["dx", "ou", "pe", "value"]
    >>> names = {"fbfJHSPpUQD": "ANC 1st visit", "ImspTQPwCqd": "Sierra Leone"}
    >>> rows = [["fbfJHSPpUQD", "ImspTQPwCqd", "2024Q1", "12.0"]]
    >>> [c.name for c in tidy_columns(headers)]  # doctest: +NORMALIZE_WHITESPACE
    ['dx', 'dx_name', 'ou', 'ou_name', 'pe', 'pe_name', 'pe_start', 'pe_end', 'value']
    >>> record = next(tidy_rows(headers, rows, names))
    >>> record["dx_name"], record["pe_start"], record["value"]
    ('ANC 1st visit', datetime.date(2024, 1, 1), 12.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from prefect_dhis2.periods import parse_period
from prefect_dhis2.writers import Column, _columns_of

__all__ = ["NUMBER_COLUMNS", "tidy_arrow", "tidy_columns", "tidy_rows"]

NUMBER_COLUMNS: tuple[str, ...] = (
    "value",
    "numerator",
    "denominator",
    "factor",
    "multiplier",
    "divisor",
)
"""Grid headers holding numbers; every other header is a dimension."""

_TIDY_NUMBERS = ("value", "numerator", "denominator", "factor")


def tidy_columns(headers: Sequence[str]) -> list[Column]:
    """The typed output columns of a grid with these headers.

    Each dimension header `d` gives `d` and `d_name`; `pe` also gives
    `pe_start` and `pe_end` (dates). `value` and, when present, `numerator`,
    `denominator` and `factor` are floats.
    """
    columns: list[Column] = []
    for name in headers:
        if name in NUMBER_COLUMNS:
            continue
        columns += [Column(name), Column(f"{name}_name")]
        if name == "pe":
            columns += [Column("pe_start", "date"), Column("pe_end", "date")]
    columns += [Column(name, "float") for name in _TIDY_NUMBERS if name in headers]
    return columns


@lru_cache(maxsize=4096)
def _period_bounds(pe: str) -> tuple[date | None, date | None]:
    try:
        period = parse_period(pe)
    except ValueError:
        return None, None
    return period.start_date, period.end_date


def _number(text: str) -> float | None:
    if text == "" or text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def tidy_rows(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    names: Mapping[str, str],
) -> Iterator[dict[str, Any]]:
    """Yield each grid row as a typed record (see `tidy_columns` for its keys).

    Args:
        headers: The grid's header names, in column order.
        rows: The grid rows (strings).
        names: Item id to display name (`metaData.items`); a missing name is None.

    Raises:
        ValueError: If a value cell is not a number.
    """
    dims = [(i, h) for i, h in enumerate(headers) if h not in NUMBER_COLUMNS]
    numbers = [(headers.index(h), h) for h in _TIDY_NUMBERS if h in headers]
    pe_index = headers.index("pe") if "pe" in headers else None
    value_index = headers.index("value") if "value" in headers else None
    for row in rows:
        record: dict[str, Any] = {}
        for index, name in dims:
            item = row[index]
            record[name] = item
            record[f"{name}_name"] = names.get(item)
        if pe_index is not None:
            record["pe_start"], record["pe_end"] = _period_bounds(row[pe_index])
        for index, name in numbers:
            record[name] = _number(row[index])
        if value_index is not None and record["value"] is None and row[value_index] != "":
            raise ValueError(f"Analytics value {row[value_index]!r} is not a number: {list(row)}")
        yield record


def tidy_arrow(
    headers: Sequence[str], rows: Sequence[Sequence[str]], names: Mapping[str, str]
) -> Any:
    """The grid as a typed tidy Arrow table, built column by column (no record per row).

    Same columns as `tidy_columns` (names beside ids, period start and end
    dates, numbers as float64); needs pyarrow.

    Raises:
        ValueError: If a value cell is not a number.

    Examples:
        >>> table = tidy_arrow(["dx", "pe", "value"], [["fbfJHSPpUQD", "2024Q1", "12.0"]],
        ...     {"fbfJHSPpUQD": "ANC 1st visit"})
        >>> table.column_names
        ['dx', 'dx_name', 'pe', 'pe_name', 'pe_start', 'pe_end', 'value']
        >>> table.column("value").to_pylist(), table.column("pe_end").to_pylist()
        ([12.0], [datetime.date(2024, 3, 31)])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = tidy_columns(headers)
    cells = _columns_of(rows, len(headers))
    by_header = dict(zip(headers, cells, strict=True))
    strings: dict[str, Any] = {}
    encoded: dict[str, Any] = {}

    def ids(name: str) -> Any:  # each dimension's cells become Arrow strings once
        if name not in strings:
            strings[name] = pa.array(by_header[name], type=pa.string())
        return strings[name]

    def distinct(name: str) -> Any:  # its distinct ids, and where each row's id is in them
        if name not in encoded:
            encoded[name] = pc.dictionary_encode(ids(name))
        return encoded[name]

    arrays: list[Any] = []
    for column in columns:
        name = column.name
        if name in by_header and column.type == "string":
            arrays.append(ids(name))
        elif name.endswith("_name") and name[:-5] in by_header:
            # Names repeat a lot: look each distinct id up once.
            found = distinct(name[:-5])
            looked_up = [names.get(i) for i in found.dictionary.to_pylist()]
            arrays.append(pa.array(looked_up, type=pa.string()).take(found.indices))
        elif name in ("pe_start", "pe_end"):
            found = distinct("pe")
            which = 0 if name == "pe_start" else 1
            bounds = [_period_bounds(p)[which] for p in found.dictionary.to_pylist()]
            arrays.append(pa.array(bounds, type=pa.date32()).take(found.indices))
        else:
            arrays.append(_float_column(by_header[name], name))
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])


def _float_column(cells: Sequence[str], name: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(cells, type=pa.string())
    try:
        return pc.cast(text, pa.float64())  # the common case: every cell is a number
    except pa.ArrowInvalid:
        pass
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        return pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        bad = next(c for c in cells if c != "" and _number(c) is None)
        raise ValueError(f"Analytics {name} {bad!r} is not a number") from None
