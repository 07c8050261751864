"""Bad data value input fails with the row and item named, before any write."""

from __future__ import annotations

import asyncio
import json

import pytest

from prefect_dhis2.data_values import (
    InvalidDataValuesError,
    aimport_data_values,
    read_data_values_file,
    validate_data_value_rows,
)

from .conftest import fast

GOOD = {
    "dataElement": "fbfJHSPpUQD",
    "period": "202401",
    "orgUnit": "ImspTQPwCqd",
    "categoryOptionCombo": "pq2XI5kz2BY",
    "value": "12",
}


def test_missing_csv_columns_are_named(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text("dataElement,orgUnit,val\nfbfJHSPpUQD,ImspTQPwCqd,3\n")
    with pytest.raises(InvalidDataValuesError, match=r"missing column.*period, value"):
        read_data_values_file(path)


def test_json_files_read_data_value_sets_and_lists(tmp_path):
    as_set = tmp_path / "set.json"
    as_set.write_text(
        json.dumps(
            {"period": "202401", "dataValues": [{k: v for k, v in GOOD.items() if k != "period"}]}
        )
    )
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([GOOD]))
    assert read_data_values_file(as_set) == read_data_values_file(as_list) == [GOOD]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"dataElement": "fbfJHSPpUQD", "value": "1"}]))
    with pytest.raises(InvalidDataValuesError, match=r"missing field.*orgUnit, period"):
        read_data_values_file(broken)


def test_invalid_uids_and_periods_name_the_row():
    rows = [
        GOOD,
        {**GOOD, "dataElement": "fbfJHSPpUQ"},
        {**GOOD, "period": "2024W54"},
        {**GOOD, "orgUnit": "1mspTQPwCqd", "period": "2024-13"},
    ]
    with pytest.raises(InvalidDataValuesError) as caught:
        validate_data_value_rows(rows, "values.csv")
    assert [row for row, _ in caught.value.errors] == [2, 3, 4]
    text = str(caught.value)
    assert "values.csv" in text and "row 2: invalid dataElement UID 'fbfJHSPpUQ'" in text
    assert "row 3: invalid period '2024W54'" in text
    assert "invalid orgUnit UID '1mspTQPwCqd'; invalid period '2024-13'" in text


def test_non_numeric_values_fail_before_any_write(make_emulator):
    emulator = make_emulator()
    rows = [
        GOOD,
        {**GOOD, "value": "twelve", "period": "202402"},
        {**GOOD, "dataElement": "yPhmT6y9Imm", "categoryOptionCombo": "HllvX50cXC0", "value": "-3"},
    ]

    async def attempt() -> None:
        async with fast(emulator.credentials()).get_async_client() as client:
            await aimport_data_values(client, rows, dry_run=False)

    with pytest.raises(InvalidDataValuesError) as caught:
        asyncio.run(attempt())
    assert [row for row, _ in caught.value.errors] == [2, 3]
    assert "data element fbfJHSPpUQD: 'twelve' is not a number (NUMBER)" in str(caught.value)
    assert "yPhmT6y9Imm: '-3' is not zero or a positive integer" in str(caught.value)
    assert emulator.request_log.matching("/api/dataValueSets") == []
    # Only the value types were read, once.
    assert len(emulator.request_log.matching("/api/dataElements")) == 1
