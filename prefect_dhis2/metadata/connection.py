"""The connection check: does the instance answer, who is the user, how big is it.

Pure: no Prefect. `acheck_connection` reads the server info, the user and the size
of the main metadata collections with a live `AsyncDhis2Client`.

Examples:
    ```python
    async with credentials.get_async_client() as client:
        result = await acheck_connection(client)
    print(result.version, result.counts["organisationUnits"])
    ```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = ["COUNTED_TYPES", "ConnectionCheckResult", "acheck_connection"]

COUNTED_TYPES = ("organisationUnits", "dataElements", "indicators", "dataSets")
"""The collections whose size the connection check reports."""


class ConnectionCheckResult(BaseModel):
    """What the connection check found.

    Attributes:
        version: The DHIS2 version, e.g. `2.40.3`.
        revision: The build revision.
        system_name: The instance's name.
        last_analytics_table_success: When analytics tables were last built.
        username: The authenticated user.
        superuser: Whether the user holds the `ALL` authority.
        counts: Records per collection of `COUNTED_TYPES`.
    """

    version: str
    revision: str | None = None
    system_name: str | None = None
    last_analytics_table_success: str | None = None
    username: str | None = None
    superuser: bool = False
    counts: dict[str, int] = {}


async def acheck_connection(client: AsyncDhis2Client) -> ConnectionCheckResult:
    """Read the server info and the user, and count the main metadata collections.

    Args:
        client: A live async client.

    Raises:
        Dhis2AuthenticationError: When the credentials are refused.
    """
    info = await client.get_server_info()
    me = await client.get_me(fields="id,username,authorities")
    counts: dict[str, int] = {}
    for kind in COUNTED_TYPES:
        page = await client.get(kind, {"fields": "id", "pageSize": 1})
        counts[kind] = int(page.get("pager", {}).get("total", 0))
    return ConnectionCheckResult(
        version=str(info.version),
        revision=info.revision,
        system_name=info.system_name,
        last_analytics_table_success=info.last_analytics_table_success,
        username=me.username,
        superuser=me.is_superuser,
        counts=counts,
    )
