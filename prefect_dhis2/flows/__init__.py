"""The bundled flows, importable as `prefect_dhis2.flows.<name>`.

Every flow follows the conventions in `prefect_dhis2.flow_support`: it takes
`credentials` or the name of a saved block (`instance`), writes to `output_dir`
(a temporary directory when None), publishes an artifact a programme manager can
read, and returns a report model.
"""

from prefect_dhis2.flows.analytics_flows import dhis2_analytics_export, dhis2_data_values_import
from prefect_dhis2.flows.indicator_flows import dhis2_indicator_complexity
from prefect_dhis2.flows.metadata_flows import (
    dhis2_connection_check,
    dhis2_geometry_export,
    dhis2_metadata_export,
    dhis2_metadata_quality,
    dhis2_org_units_export,
)

__all__ = [
    "dhis2_analytics_export",
    "dhis2_connection_check",
    "dhis2_data_values_import",
    "dhis2_geometry_export",
    "dhis2_indicator_complexity",
    "dhis2_metadata_export",
    "dhis2_metadata_quality",
    "dhis2_org_units_export",
]
