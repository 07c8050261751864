"""The DHIS2 Web API client: `Dhis2Client` and its asyncio twin `AsyncDhis2Client`.

Both share one I/O-free core (`prefect_dhis2.client._core`): request building,
retry decisions, paging and response parsing.

Examples:
    Against a DHIS2 instance (here `dhis2`, the package's emulator):

    >>> with dhis2.credentials().get_client() as client:
    ...     info = client.get_server_info()
    ...     units = client.fetch_metadata("organisationUnits", filters=["level:eq:2"])
    >>> info.version.minor, len(units)
    (40, 13)
"""

from prefect_dhis2.client._core import MAINTENANCE_TASKS, ClientSettings, RetryPolicy
from prefect_dhis2.client.async_client import AsyncDhis2Client
from prefect_dhis2.client.auth import ApiTokenAuth
from prefect_dhis2.client.errors import (
    Dhis2AuthenticationError,
    Dhis2BadRequestError,
    Dhis2ConflictError,
    Dhis2ConnectionError,
    Dhis2Error,
    Dhis2JobError,
    Dhis2NotFoundError,
    Dhis2PermissionError,
    Dhis2RateLimitError,
    Dhis2RequestError,
    Dhis2ResponseFormatError,
    Dhis2ResponseTooLargeError,
    Dhis2ServerError,
    Dhis2TimeoutError,
)
from prefect_dhis2.client.sync_client import Dhis2Client

__all__ = [
    "MAINTENANCE_TASKS",
    "ApiTokenAuth",
    "AsyncDhis2Client",
    "ClientSettings",
    "Dhis2AuthenticationError",
    "Dhis2BadRequestError",
    "Dhis2Client",
    "Dhis2ConflictError",
    "Dhis2ConnectionError",
    "Dhis2Error",
    "Dhis2JobError",
    "Dhis2NotFoundError",
    "Dhis2PermissionError",
    "Dhis2RateLimitError",
    "Dhis2RequestError",
    "Dhis2ResponseFormatError",
    "Dhis2ResponseTooLargeError",
    "Dhis2ServerError",
    "Dhis2TimeoutError",
    "RetryPolicy",
]
