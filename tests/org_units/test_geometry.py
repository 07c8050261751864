"""GeoJSON features of org units."""

from __future__ import annotations

from prefect_dhis2.org_units.geometry import org_unit_feature
from tests.org_units.tree import UNITS


def test_features_only_for_units_with_geometry():
    assert org_unit_feature(UNITS[0]) is None
    feature = org_unit_feature(UNITS[2])
    assert feature is not None and feature["properties"]["parent_id"] == "O6uvpzGd5pu"
    assert org_unit_feature({"id": "x", "geometry": {"type": "Point", "coordinates": []}}) is None
