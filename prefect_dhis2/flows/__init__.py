"""The bundled flows, importable as `prefect_dhis2.flows.<name>`.

Every flow takes `credentials` or the name of a saved block (`instance`, resolved with
`prefect_dhis2.credentials.resolve_credentials`), writes to `output_dir` (a temporary
directory when None, see `prefect_dhis2.writers.resolve_output_dir`), publishes an
artifact a programme manager can read, and returns a `…Report` that contains the
`…Result` or `…Extract` of the work it composed.

The rule of this package: a flow module imports tasks, writers and renderers and
defines only `…Report` classes and `@flow` functions. The DHIS2 logic lives in the area
packages (`prefect_dhis2.analytics`, `.data_values`, `.metadata`, `.org_units`,
`.indicators`), rendering in their report modules, and writing in `prefect_dhis2.writers`.
"""

from prefect_dhis2.flows.analytics_flows import dhis2_analytics_export
from prefect_dhis2.flows.connection_flows import dhis2_connection_check
from prefect_dhis2.flows.data_values_flows import dhis2_data_values_import
from prefect_dhis2.flows.indicator_flows import dhis2_indicator_complexity
from prefect_dhis2.flows.metadata_flows import dhis2_metadata_export, dhis2_metadata_quality
from prefect_dhis2.flows.org_unit_flows import dhis2_geometry_export, dhis2_org_units_export
from prefect_dhis2.flows.warehouse_flows import dhis2_star_schema

__all__ = [
    "dhis2_analytics_export",
    "dhis2_connection_check",
    "dhis2_data_values_import",
    "dhis2_geometry_export",
    "dhis2_indicator_complexity",
    "dhis2_metadata_export",
    "dhis2_metadata_quality",
    "dhis2_org_units_export",
    "dhis2_star_schema",
]
