"""The DHIS2 Web API client: `Dhis2Client` and its asyncio twin `AsyncDhis2Client`.

Both share one I/O-free core (`prefect_dhis2.client._core`): request building,
retry decisions, paging and response parsing.
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
