"""Entry points for the deployments in this folder: the bundled flows, re-exported.

`prefect.yaml` points at `deployments/flows.py:<flow>`; the flows themselves live in
`prefect_dhis2.flows`, so upgrading the package upgrades every deployment.
"""

from prefect_dhis2.flows import (
    dhis2_connection_check,
    dhis2_geometry_export,
    dhis2_indicator_complexity,
    dhis2_metadata_export,
    dhis2_metadata_quality,
    dhis2_org_units_export,
)

__all__ = [
    "dhis2_connection_check",
    "dhis2_geometry_export",
    "dhis2_indicator_complexity",
    "dhis2_metadata_export",
    "dhis2_metadata_quality",
    "dhis2_org_units_export",
]
