"""`dhis2_data_values_import` under a real Prefect server against the emulator."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from prefect import flow

from prefect_dhis2.data_values import InvalidDataValuesError, fetch_data_values
from prefect_dhis2.flows import dhis2_data_values_import

from .conftest import fast, sample_rows, stored_values
from .prefect_reads import artifacts, log_messages
from .test_conflict_names import wrong_combo

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


def test_import_artifacts_name_objects_and_follow_progress(prefect_server, make_emulator, tmp_path):
    emulator = make_emulator()
    credentials = fast(emulator.credentials())
    dataset = emulator.state.dataset
    rows = sample_rows(emulator, facilities=4)
    bad = {**rows[7], "categoryOptionCombo": wrong_combo(rows[7]["categoryOptionCombo"])}
    rows[7] = bad
    source = write_csv(tmp_path / "values.csv", rows)

    state = dhis2_data_values_import(
        source,
        dry_run=False,
        credentials=credentials,
        output_dir=str(tmp_path),
        chunk_size=5,
        return_state=True,
    )
    report = state.result()
    assert report.result.rejected == 1
    run_id = state.state_details.flow_run_id

    # The conflicts table: names beside UIDs, and where the org unit sits.
    (table,) = artifacts("dhis2-import-conflicts", run_id)
    (conflict,) = [c for c in json.loads(table.data) if c["row"] == 8]
    unit = dataset.get("organisationUnits", bad["orgUnit"])
    assert conflict["data element"] == dataset.get("dataElements", bad["dataElement"])["name"]
    assert conflict["data element UID"] == bad["dataElement"]
    assert (conflict["org unit"], conflict["org unit UID"]) == (unit["name"], bad["orgUnit"])
    where = [dataset.get("organisationUnits", a)["name"] for a in dataset.ancestors(bad["orgUnit"])]
    assert conflict["where"] == " / ".join(where) and len(where) == 3
    with open(report.files["conflicts_csv"], newline="") as handle:
        (written,) = list(csv.DictReader(handle))
    assert (written["org_unit_name"], written["org_unit_path"]) == (unit["name"], " / ".join(where))

    # The flow's report: the conflict by name, the run, and a link to conflicts.csv.
    (markdown,) = artifacts("dhis2-data-values-import", run_id)
    named_unit = f"{unit['name']} ({bad['orgUnit']})"
    (line,) = [line for line in markdown.data.splitlines() if line.startswith("| 8 |")]
    assert named_unit in line and " / ".join(where) in line
    assert f"run `{report.flow_run}`" in markdown.data
    assert f"[conflicts_csv]({Path(report.files['conflicts_csv']).resolve().as_uri()})" in (
        markdown.data
    )

    # The progress artifact reached 100 % of the dry run's and the commit's chunks.
    chunks = -(-len(rows) // 5)
    (progress,) = artifacts("dhis2-import-progress", run_id)
    assert progress.type == "progress" and float(progress.data) == 100.0
    assert progress.description == (
        f"Data value import: commit, {2 * chunks} of {2 * chunks} chunks, {len(rows)} values"
    )
    # A short log line per 5 % of the chunks, the last at 100 %.
    lines = log_messages(run_id, "Data value import (", at_least=20)
    assert len(lines) == 20, lines
    assert lines[-1] == (
        f"Data value import (commit): {2 * chunks} of {2 * chunks} chunks (100%), {len(rows)} values"
    )


def test_a_read_publishes_its_progress(prefect_server, make_emulator):
    emulator = make_emulator()
    credentials = fast(emulator.credentials())
    units = emulator.state.dataset.org_units_at_level(4)[:12]

    @flow
    def read():
        return fetch_data_values(
            credentials, units, data_sets=["BfMAe6Itzgt"], periods=["202401"],
            org_units_per_request=1,
        )  # fmt: skip

    state = read(return_state=True)
    extract = state.result()
    assert extract.requests == 12 and extract.data_values
    (progress,) = artifacts("dhis2-data-values-progress", state.state_details.flow_run_id)
    assert float(progress.data) == 100.0
    assert progress.description == (
        f"Data value read: 12 of 12 chunks, {len(extract.data_values):,} values"
    )
    lines = log_messages(state.state_details.flow_run_id, "Data value read:", at_least=12)
    assert len(lines) == 12 and "12 of 12 chunks (100%)" in lines[-1]
