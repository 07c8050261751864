"""Old org unit names keep working for one release and say where the name lives now."""

from __future__ import annotations

import pytest

from prefect_dhis2.org_units import geometry


def test_the_old_geometry_class_resolves_to_the_extract_with_a_warning():
    with pytest.warns(
        DeprecationWarning,
        match=r"prefect_dhis2\.org_units\.OrgUnitGeometry is deprecated: use "
        r"prefect_dhis2\.org_units\.geometry\.OrgUnitGeometryExtract",
    ):
        from prefect_dhis2.org_units import OrgUnitGeometry
    assert OrgUnitGeometry is geometry.OrgUnitGeometryExtract


def test_an_unknown_name_is_still_an_attribute_error():
    from prefect_dhis2 import org_units

    with pytest.raises(AttributeError, match="no_such_name"):
        org_units.no_such_name  # noqa: B018
