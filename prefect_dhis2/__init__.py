"""Prefect integrations for DHIS2.

The public blocks live here so that `prefect block register -m prefect_dhis2`
finds them; tasks and flows are imported from their modules, e.g.
`from prefect_dhis2.metadata import fetch_metadata`.
"""

from prefect_dhis2._version import __version__
from prefect_dhis2.credentials import Dhis2Credentials

__all__ = ["Dhis2Credentials", "__version__"]
