"""Rows that name one data value twice: refused by default, or one kept by policy."""

from __future__ import annotations

import asyncio

import pytest

from prefect_dhis2.data_values import InvalidDataValuesError, aimport_data_values

from .conftest import fast, sample_rows, stored_values, value_key
from .test_import import wrong_combo


async def do_import(credentials, rows, **options):
    async with credentials.get_async_client() as client:
        return await aimport_data_values(client, rows, **options)


def with_contradiction(emulator):
    """Sample rows where input row 6 gives row 2's data value another value."""
    rows = sample_rows(emulator, facilities=2)[:8]
    rows.insert(5, {**rows[1], "value": str(int(rows[1]["value"]) + 40)})
    return rows


def test_different_values_for_one_data_value_are_refused_before_any_request(make_emulator):
    emulator = make_emulator()
    rows = with_contradiction(emulator)
    emulator.request_log.clear()
    with pytest.raises(InvalidDataValuesError) as caught:
        asyncio.run(do_import(fast(emulator.credentials()), rows, dry_run=False))
    assert [row for row, _ in caught.value.errors] == [6]
    assert "same data value as row 2" in str(caught.value)
    assert len(emulator.request_log) == 0


@pytest.mark.parametrize("policy", ["first", "last"])
def test_a_policy_keeps_one_row_and_the_report_counts_one_value(make_emulator, policy):
    emulator = make_emulator()
    rows = with_contradiction(emulator)
    rows.append(dict(rows[0]))  # an identical repeat is sent once under every policy
    before = stored_values(emulator, rows)
    result = asyncio.run(
        do_import(fast(emulator.credentials()), rows, dry_run=False, on_duplicate=policy)
    )
    kept = rows[1] if policy == "first" else rows[5]
    assert stored_values(emulator, [kept])[value_key(kept)] == kept["value"]
    assert result.rows == len(rows) and result.duplicates_dropped == 2
    counted = result.imported + result.updated + result.ignored
    assert counted == len({value_key(r) for r in rows})  # one count per stored value
    changed = {value_key(r) for r in rows if before.get(value_key(r)) not in (None, r["value"])}
    assert result.updated <= len(changed)


def test_a_conflict_after_a_dropped_row_names_its_file_row(make_emulator):
    emulator = make_emulator()
    rows = sample_rows(emulator, facilities=2)[:6]
    rows.insert(1, dict(rows[0]))  # dropped: the rows after it keep their file numbers
    rows[4] = {**rows[4], "categoryOptionCombo": wrong_combo(rows[4]["categoryOptionCombo"])}
    result = asyncio.run(do_import(fast(emulator.credentials()), rows, dry_run=True, chunk_size=2))
    assert result.duplicates_dropped == 1
    assert [c.row for c in result.conflicts] == [5]
