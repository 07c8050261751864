"""Entry points for the deployments in this folder: the bundled flows, with notifications.

`prefect.yaml`, `deploy.py` and `serve.py` point here. The flows themselves live in
`prefect_dhis2.flows`, so upgrading the package upgrades every deployment; here each one
gets a hook that sends a notice when a run fails or crashes, through the notification
block named by the `PREFECT_DHIS2_NOTIFY_BLOCK` environment variable (see
`prefect_dhis2.notifications`).
"""

from prefect_dhis2 import flows
from prefect_dhis2.notifications import with_notifications

dhis2_connection_check = with_notifications(flows.dhis2_connection_check)
dhis2_org_units_export = with_notifications(flows.dhis2_org_units_export)
dhis2_metadata_export = with_notifications(flows.dhis2_metadata_export)
dhis2_geometry_export = with_notifications(flows.dhis2_geometry_export)
dhis2_metadata_quality = with_notifications(flows.dhis2_metadata_quality)
dhis2_indicator_complexity = with_notifications(flows.dhis2_indicator_complexity)
dhis2_analytics_export = with_notifications(flows.dhis2_analytics_export)
dhis2_data_values_import = with_notifications(flows.dhis2_data_values_import)
dhis2_star_schema = with_notifications(flows.dhis2_star_schema)

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
