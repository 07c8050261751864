"""Flattening the org unit hierarchy: a column pair per level."""

from __future__ import annotations

from prefect_dhis2.org_units.hierarchy import flatten_org_units_rows, level_names
from tests.org_units.tree import LEVELS, UNITS


def test_flatten_gives_a_column_pair_per_level():
    rows = {r["id"]: r for r in flatten_org_units_rows(UNITS, LEVELS)}
    badjia = rows["YuQRtpLP10I"]
    assert [badjia[f"level_{n}_name"] for n in (1, 2, 3)] == ["Sierra Leone", "Bo", "Badjia"]
    assert [badjia[f"level_{n}_id"] for n in (1, 2, 3)] == [
        "ImspTQPwCqd", "O6uvpzGd5pu", "YuQRtpLP10I"
    ]  # fmt: skip
    assert (badjia["longitude"], badjia["latitude"]) == (-11.5, 7.9)
    assert badjia["closed_date"] == "2020-05-01"
    assert rows["ImspTQPwCqd"]["parent_id"] is None
    assert rows["ImspTQPwCqd"]["level_2_id"] is None and rows["ImspTQPwCqd"]["opening_date"]
    assert rows["O6uvpzGd5pu"]["level_3_name"] is None
    assert level_names(LEVELS) == {1: "National", 2: "District", 3: "Chiefdom"}
