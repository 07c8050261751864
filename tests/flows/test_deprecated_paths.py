"""Flows and reports that left `flows.metadata_flows` still answer there for one release."""

from __future__ import annotations

import importlib

import pytest

from prefect_dhis2.flows import connection_flows, metadata_flows, org_unit_flows

MOVED = [
    ("ConnectionReport", connection_flows.ConnectionReport),
    ("dhis2_connection_check", connection_flows.dhis2_connection_check),
    ("OrgUnitsExportReport", org_unit_flows.OrgUnitsExportReport),
    ("GeometryExportReport", org_unit_flows.GeometryExportReport),
    ("dhis2_org_units_export", org_unit_flows.dhis2_org_units_export),
    ("dhis2_geometry_export", org_unit_flows.dhis2_geometry_export),
    ("MetadataQualityFlowReport", metadata_flows.MetadataQualityReport),
]


@pytest.mark.parametrize(("old", "new"), MOVED)
def test_a_moved_flow_name_resolves_from_metadata_flows_with_a_warning(old, new):
    module = importlib.import_module("prefect_dhis2.flows.metadata_flows")
    with pytest.warns(
        DeprecationWarning, match=rf"prefect_dhis2\.flows\.metadata_flows\.{old} is deprecated"
    ):
        value = getattr(module, old)
    assert value is new
