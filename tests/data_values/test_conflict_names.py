"""Import conflicts name their data elements and org units, and say where the unit sits."""

from __future__ import annotations

import asyncio

from prefect_dhis2.data_values import aimport_data_values
from prefect_dhis2.testing import FaultRule

from .conftest import fast, sample_rows

MISSING_UNIT = "Xq0MissngOU"


def wrong_combo(coc: str) -> str:
    """An option combo that exists but is not part of the row's data element's combo."""
    return "pq2XI5kz2BY" if coc == "HllvX50cXC0" else "HllvX50cXC0"


def rows_with_conflicts(emulator):
    """Sample rows where row 5 names an unknown org unit and rows 8 and 20 a wrong combo."""
    rows = sample_rows(emulator, facilities=4)
    rows[4] = {**rows[4], "orgUnit": MISSING_UNIT}
    for index in (7, 19):
        rows[index] = {**rows[index], "categoryOptionCombo": wrong_combo(rows[index]["categoryOptionCombo"])}  # fmt: skip
    return rows


def do_import(credentials, rows, **options):
    async def run():
        async with credentials.get_async_client() as client:
            return await aimport_data_values(client, rows, **options)

    return asyncio.run(run())


def expected_where(dataset, uid: str) -> str:
    return " / ".join(dataset.get("organisationUnits", a)["name"] for a in dataset.ancestors(uid))


def test_conflicts_carry_names_and_the_org_units_path(make_emulator):
    emulator = make_emulator()
    dataset = emulator.state.dataset
    rows = rows_with_conflicts(emulator)
    result = do_import(fast(emulator.credentials()), rows, dry_run=False, chunk_size=5)
    assert sorted(c.row for c in result.conflicts) == [5, 8, 20]
    for conflict in result.conflicts:
        element = dataset.get("dataElements", conflict.data_element)
        assert conflict.data_element_name == element["name"]
        if conflict.org_unit == MISSING_UNIT:  # DHIS2 does not know it: its UID stays alone
            assert (conflict.org_unit_name, conflict.org_unit_path) == (None, None)
            continue
        unit = dataset.get("organisationUnits", conflict.org_unit)
        assert conflict.org_unit_name == unit["name"]
        assert conflict.org_unit_path == expected_where(dataset, conflict.org_unit)
        assert conflict.org_unit_path.count(" / ") == unit["level"] - 2  # its ancestors, top down
    # The dry run's conflicts are named too.
    assert result.dry_run_check is not None
    assert all(c.data_element_name for c in result.dry_run_check.conflicts)


def test_names_take_one_batched_request_per_kind(make_emulator):
    emulator = make_emulator()
    rows = rows_with_conflicts(emulator)
    do_import(fast(emulator.credentials()), rows, dry_run=True, chunk_size=5)
    # The data element names come with the value types read before the import.
    elements = emulator.request_log.matching("/api/dataElements")
    units = emulator.request_log.matching("/api/organisationUnits")
    assert len(elements) == 1 and "name" in elements[0].param("fields")
    assert len(units) == 1
    assert sorted(
        units[0].param("filter").removeprefix("id:in:[").rstrip("]").split(",")
    ) == sorted({rows[4]["orgUnit"], rows[7]["orgUnit"], rows[19]["orgUnit"]})


def test_a_failed_name_lookup_keeps_the_uids_and_the_import(make_emulator):
    emulator = make_emulator()
    credentials = fast(emulator.credentials(), max_retries=0)
    rows = rows_with_conflicts(emulator)
    emulator.set_faults([FaultRule(path="/api/organisationUnits", kind="503", count=100)])
    result = do_import(credentials, rows, dry_run=False, chunk_size=5)
    assert result.status == "WARNING" and result.rejected == 3
    assert emulator.request_log.matching("/api/organisationUnits")  # the lookup was tried
    assert all(c.org_unit and c.org_unit_name is None for c in result.conflicts)
    assert all(c.data_element_name for c in result.conflicts)  # read before the import
    # Without the value type check, the data element names are looked up after the import.
    emulator.set_faults([FaultRule(path="/api/dataElements", kind="503", count=100)])
    unchecked = do_import(credentials, rows, dry_run=True, chunk_size=5, check_value_types=False)
    assert unchecked.rejected == 3
    assert all(c.data_element and c.data_element_name is None for c in unchecked.conflicts)
