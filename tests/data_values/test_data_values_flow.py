"""`dhis2_data_values_import` under a real Prefect server against the emulator."""

from __future__ import annotations

import csv

import pytest

from prefect_dhis2.data_values import InvalidDataValuesError
from prefect_dhis2.flows import dhis2_data_values_import

from .conftest import fast, sample_rows, stored_values

COLUMNS = [
    "dataElement",
    "period",
    "orgUnit",
    "categoryOptionCombo",
    "attributeOptionCombo",
    "value",
]


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_dry_run_by_default_commit_on_request(prefect_server, make_emulator, tmp_path):
    emulator = make_emulator()
    credentials = fast(emulator.credentials())
    rows = sample_rows(emulator, facilities=3)
    rows[4] = {**rows[4], "orgUnit": "Xq0MissngOU"}  # an org unit DHIS2 does not know
    source = write_csv(tmp_path / "values.csv", rows)
    before = stored_values(emulator, rows)

    checked = dhis2_data_values_import(source, credentials=credentials, output_dir=str(tmp_path))
    assert checked.result.dry_run and stored_values(emulator, rows) == before
    assert checked.result.rejected == 1 and checked.result.status == "WARNING"
    with open(checked.files["conflicts_csv"], newline="") as handle:
        (conflict,) = list(csv.DictReader(handle))
    assert conflict["row"] == "5" and conflict["org_unit"] == "Xq0MissngOU"
    assert conflict["error_code"] == "E7612"

    committed = dhis2_data_values_import(
        source, dry_run=False, credentials=credentials, output_dir=str(tmp_path)
    )
    done, planned = committed.result, checked.result
    assert not done.dry_run
    assert done.imported == planned.imported and done.updated == planned.updated
    assert done.imported + done.updated > 0
    assert stored_values(emulator, rows) != before

    again = dhis2_data_values_import(source, dry_run=False, credentials=credentials)
    assert (again.result.imported, again.result.updated) == (0, 0)
    assert again.result.ignored == len(rows)


def test_a_file_with_missing_columns_fails_before_any_request(
    prefect_server, make_emulator, tmp_path
):
    emulator = make_emulator()
    path = tmp_path / "values.csv"
    path.write_text("dataElement,period,value\nfbfJHSPpUQD,202401,3\n")
    with pytest.raises(InvalidDataValuesError, match="orgUnit"):
        dhis2_data_values_import(str(path), dry_run=False, credentials=emulator.credentials())
    assert len(emulator.request_log) == 0
