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
from prefect_dhis2.writers import Column

__all__ = ["NUMBER_COLUMNS", "tidy_columns", "tidy_rows"]

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
