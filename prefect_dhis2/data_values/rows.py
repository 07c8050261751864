"""Data value rows: reading CSV/JSON input, normalising and checking it (no Prefect).

Rows use DHIS2's names (`dataElement`, `period`, `orgUnit`, `categoryOptionCombo`,
`attributeOptionCombo`, `value`, `comment`, `followup`). Missing columns, invalid UIDs
and invalid periods fail with the row number before any request; `validate_value_types`
checks the values of numeric data elements against their DHIS2 `valueType`.

Two rows with the same data value key (`DATA_VALUE_KEY`: data element, period, org
unit and the two option combos) are one DHIS2 value: DHIS2 would store the last one
and count both. `resolve_duplicate_values` sends a repeated identical row once and,
by default, refuses rows that give one key different values, naming them; the
`on_duplicate` policy `"first"` or `"last"` keeps that row of each key instead.

Examples:
    >>> rows = [normalise_row({"dataElement": "fbfJHSPpUQD", "period": "202401",
    ...                        "orgUnit": "ImspTQPwCqd", "value": 12, "comment": " "})]
    >>> rows
    [{'dataElement': 'fbfJHSPpUQD', 'period': '202401', 'orgUnit': 'ImspTQPwCqd', 'value': '12'}]
    >>> validate_data_value_rows(rows)
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from prefect_dhis2.periods import is_valid_period
from prefect_dhis2.uids import is_valid_uid

__all__ = [
    "DATA_VALUE_COLUMNS",
    "DATA_VALUE_KEY",
    "REQUIRED_COLUMNS",
    "DuplicatePolicy",
    "InvalidDataValuesError",
    "normalise_row",
    "read_data_values_file",
    "resolve_duplicate_values",
    "validate_data_value_rows",
    "validate_value_types",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("dataElement", "period", "orgUnit", "value")
"""Columns every data value row needs."""

DATA_VALUE_COLUMNS: tuple[str, ...] = (
    "dataElement",
    "period",
    "orgUnit",
    "categoryOptionCombo",
    "attributeOptionCombo",
    "value",
    "comment",
    "followup",
)
"""The data value fields DHIS2 imports, in DHIS2's spelling."""

DATA_VALUE_KEY: tuple[str, ...] = (
    "dataElement",
    "period",
    "orgUnit",
    "categoryOptionCombo",
    "attributeOptionCombo",
)
"""The fields that name one stored DHIS2 data value (a missing combo is the default one)."""

DuplicatePolicy = Literal["error", "first", "last"]
"""What to do with rows that give one data value key different values."""

_NUMERIC_TYPES = frozenset(
    {
        "NUMBER",
        "PERCENTAGE",
        "UNIT_INTERVAL",
        "INTEGER",
        "INTEGER_POSITIVE",
        "INTEGER_NEGATIVE",
        "INTEGER_ZERO_OR_POSITIVE",
    }
)
_INTEGER = re.compile(r"^[+-]?\d+$")
_MAX_ERRORS_SHOWN = 20


class InvalidDataValuesError(ValueError):
    """Rows that cannot be imported, found before any write.

    Attributes:
        errors: `(row number, message)` pairs; row numbers count from 1 for
            the first data row (CSV: the line after the header is row 1).
    """

    def __init__(self, errors: Sequence[tuple[int, str]], source: str = "input") -> None:
        self.errors = list(errors)
        self.source = source
        shown = "; ".join(f"row {row}: {msg}" for row, msg in self.errors[:_MAX_ERRORS_SHOWN])
        more = len(self.errors) - _MAX_ERRORS_SHOWN
        extra = f"; and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.errors)} invalid data value(s) in {source}: {shown}{extra}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.errors, self.source))


def normalise_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One row in DHIS2's spelling: known fields only, as stripped text, blanks dropped.

    `followUp` is read as `followup` and made a bool.

    Examples:
        >>> normalise_row({"dataElement": " fbfJHSPpUQD ", "value": 3, "followUp": "TRUE"})
        {'dataElement': 'fbfJHSPpUQD', 'value': '3', 'followup': True}
    """
    row: dict[str, Any] = {}
    for key in DATA_VALUE_COLUMNS:
        value = raw.get(key)
        if key == "followup" and value is None:
            value = raw.get("followUp")
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        if key == "followup":
            row[key] = value if isinstance(value, bool) else str(value).lower() == "true"
        else:
            row[key] = str(value).strip()
    return row


def read_data_values_file(path: str | Path) -> list[dict[str, Any]]:
    """Read data value rows from a CSV or JSON file with DHIS2's column names.

    CSV needs a header with at least `dataElement`, `period`, `orgUnit` and
    `value`; JSON is either a data value set `{"dataValues": [...]}` or a list
    of data values. Set-level `period`/`orgUnit`/`attributeOptionCombo` of a
    JSON data value set fill values that lack them.

    Raises:
        InvalidDataValuesError: If columns are missing (naming them) or the
            JSON is not data values.
        FileNotFoundError: If `path` does not exist.

    Examples:
        ```python
        rows = read_data_values_file("anc_2024.csv")
        ```
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InvalidDataValuesError(
                    [(0, f"missing column(s) {', '.join(missing)} (header has {header})")],
                    source=str(file),
                )
            return [normalise_row({k.strip(): v for k, v in r.items() if k}) for r in reader]
    if suffix == ".json":
        data = json.loads(file.read_text(encoding="utf-8"))
        defaults: dict[str, Any] = {}
        if isinstance(data, dict):
            defaults = {
                k: data[k] for k in ("period", "orgUnit", "attributeOptionCombo") if k in data
            }
            data = data.get("dataValues")
        if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
            raise InvalidDataValuesError(
                [(0, 'expected {"dataValues": [...]} or a list of data values')],
                source=str(file),
            )
        rows = [normalise_row({**defaults, **v}) for v in data]
        missing = sorted({c for row in rows for c in REQUIRED_COLUMNS if c not in row})
        if rows and missing and all(c not in rows[0] for c in missing):
            raise InvalidDataValuesError(
                [(0, f"missing field(s) {', '.join(missing)} in the data values")],
                source=str(file),
            )
        return rows
    raise ValueError(f"Unknown data value file type {file.suffix!r}: use .csv or .json")


def validate_data_value_rows(rows: Sequence[Mapping[str, Any]], source: str = "input") -> None:
    """Check every row's fields, UIDs and period locally (no request).

    Raises:
        InvalidDataValuesError: Listing each bad row (1-based) and what is wrong.

    Examples:
        >>> validate_data_value_rows([{"dataElement": "fbfJHSPpUQD", "period": "2024W60",
        ...     "orgUnit": "ImspTQPwCqd", "value": "3"}])
        Traceback (most recent call last):
        ...
        prefect_dhis2.data_values.rows.InvalidDataValuesError: 1 invalid data value(s) in input: row 1: invalid period '2024W60'
    """
    errors: list[tuple[int, str]] = []
    for number, row in enumerate(rows, start=1):
        problems: list[str] = []
        missing = [c for c in REQUIRED_COLUMNS if c != "value" and not row.get(c)]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        for key in ("dataElement", "orgUnit", "categoryOptionCombo", "attributeOptionCombo"):
            value = row.get(key)
            if value and not is_valid_uid(value):
                problems.append(f"invalid {key} UID {value!r}")
        period = row.get("period")
        if period and not is_valid_period(period):
            problems.append(f"invalid period {period!r}")
        if "value" not in row and "comment" not in row:
            problems.append("no value (or comment)")
        if problems:
            errors.append((number, "; ".join(problems)))
    if errors:
        raise InvalidDataValuesError(errors, source)


def _value_problem(value_type: str, value: str) -> str | None:
    if value_type not in _NUMERIC_TYPES:
        return None
    if value_type.startswith("INTEGER"):
        if not _INTEGER.match(value):
            return f"{value!r} is not an integer ({value_type})"
        number = int(value)
        if value_type == "INTEGER_POSITIVE" and number <= 0:
            return f"{value!r} is not a positive integer"
        if value_type == "INTEGER_NEGATIVE" and number >= 0:
            return f"{value!r} is not a negative integer"
        if value_type == "INTEGER_ZERO_OR_POSITIVE" and number < 0:
            return f"{value!r} is not zero or a positive integer"
        return None
    try:
        number_f = float(value)
    except ValueError:
        return f"{value!r} is not a number ({value_type})"
    if not math.isfinite(number_f):
        return f"{value!r} is not a number ({value_type})"
    if value_type == "PERCENTAGE" and not 0 <= number_f <= 100:
        return f"{value!r} is not a percentage (0-100)"
    if value_type == "UNIT_INTERVAL" and not 0 <= number_f <= 1:
        return f"{value!r} is not between 0 and 1"
    return None


def validate_value_types(
    rows: Sequence[Mapping[str, Any]],
    value_types: Mapping[str, str],
    source: str = "input",
) -> None:
    """Check that values of numeric data elements are numbers of the right kind.

    Args:
        rows: The data value rows.
        value_types: Data element UID to DHIS2 `valueType`.
        source: Name of the input, for messages.

    Raises:
        InvalidDataValuesError: Naming each bad row, its data element and value.

    Examples:
        >>> validate_value_types([{"dataElement": "fbfJHSPpUQD", "value": "twelve"}],
        ...                      {"fbfJHSPpUQD": "NUMBER"})
        Traceback (most recent call last):
        ...
        prefect_dhis2.data_values.rows.InvalidDataValuesError: 1 invalid data value(s) in input: row 1: data element fbfJHSPpUQD: 'twelve' is not a number (NUMBER)
    """
    errors: list[tuple[int, str]] = []
    for number, row in enumerate(rows, start=1):
        value = row.get("value")
        value_type = value_types.get(str(row.get("dataElement")))
        if value is None or value_type is None:
            continue
        problem = _value_problem(value_type, str(value))
        if problem:
            errors.append((number, f"data element {row['dataElement']}: {problem}"))
    if errors:
        raise InvalidDataValuesError(errors, source)


def _key_text(key: tuple[str, ...]) -> str:
    named = [f"{name} {value}" for name, value in zip(DATA_VALUE_KEY, key, strict=True) if value]
    return ", ".join(named)


def resolve_duplicate_values(
    rows: Sequence[Mapping[str, Any]],
    on_duplicate: DuplicatePolicy = "error",
    source: str = "input",
) -> tuple[list[Mapping[str, Any]], list[int]]:
    """Keep one row per data value key; returns the rows kept and their input row numbers.

    A row that repeats an earlier one exactly is dropped under every policy (DHIS2
    would store the same value). Rows that give one key different values (value,
    comment or follow-up) are refused with `on_duplicate="error"` (the default);
    `"first"` keeps the first of them, `"last"` the last (what DHIS2 itself would
    store), in the position of the first.

    Args:
        rows: Normalised rows (see `normalise_row`).
        on_duplicate: `error`, `first` or `last`.
        source: Name of the input, for messages.

    Returns:
        `(rows, numbers)`: the rows to send and the 1-based input number of each.

    Raises:
        InvalidDataValuesError: Naming each row that contradicts an earlier one.
        ValueError: For an unknown policy.

    Examples:
        >>> a = {"dataElement": "fbfJHSPpUQD", "period": "202401", "orgUnit": "ImspTQPwCqd"}
        >>> rows = [{**a, "value": "5"}, {**a, "value": "5"}, {**a, "value": "7"}]
        >>> resolve_duplicate_values(rows, "last")
        ([{'dataElement': 'fbfJHSPpUQD', 'period': '202401', 'orgUnit': 'ImspTQPwCqd', 'value': '7'}], [3])
        >>> resolve_duplicate_values(rows)
        Traceback (most recent call last):
        ...
        prefect_dhis2.data_values.rows.InvalidDataValuesError: 1 invalid data value(s) in input: row 3: same data value as row 1 (dataElement fbfJHSPpUQD, period 202401, orgUnit ImspTQPwCqd) with a different value: '7', row 1 has '5'
    """
    if on_duplicate not in ("error", "first", "last"):
        raise ValueError(f"Unknown on_duplicate {on_duplicate!r}: use 'error', 'first' or 'last'")
    first_of: dict[tuple[str, ...], int] = {}  # key -> position in `kept`
    kept: list[Mapping[str, Any]] = []
    numbers: list[int] = []
    errors: list[tuple[int, str]] = []
    for number, row in enumerate(rows, start=1):
        key = tuple(str(row.get(name) or "") for name in DATA_VALUE_KEY)
        position = first_of.get(key)
        if position is None:
            first_of[key] = len(kept)
            kept.append(row)
            numbers.append(number)
            continue
        earlier = kept[position]
        if dict(earlier) == dict(row):
            continue
        if on_duplicate == "error":
            message = (
                f"same data value as row {numbers[position]} ({_key_text(key)}) with a "
                f"different value: {row.get('value')!r}, row {numbers[position]} has "
                f"{earlier.get('value')!r}"
            )
            errors.append((number, message))
        elif on_duplicate == "last":
            kept[position] = row
            numbers[position] = number
    if errors:
        raise InvalidDataValuesError(errors, source)
    return kept, numbers
