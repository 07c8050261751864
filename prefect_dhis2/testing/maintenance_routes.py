"""Maintenance endpoints of the DHIS2 emulator (analytics tables, caches).

- `POST /api/resourceTables/analytics` starts an `ANALYTICS_TABLE` job; when it finishes,
  `state.last_analytics_table_success` (shown by `/api/system/info`) moves to now and cleared
  analytics tables are available again.
- `POST /api/maintenance?analyticsTableClear=true` drops the analytics tables: analytics
  queries then fail with E7144 until the tables are generated again. Other maintenance flags
  (`cacheClear`, `zeroDataValueRemoval`, ...) are accepted and do nothing.

Example:
    >>> httpx.post(f"{dhis2.base_url}/api/resourceTables/analytics", auth=auth).json()["message"]
    'Initiated inMemoryAnalyticsJob'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from prefect_dhis2.testing.app import api_route
from prefect_dhis2.testing.jobs import job_configuration
from prefect_dhis2.testing.state import EmulatorState, current_user, emulator_state
from prefect_dhis2.testing.webmessage import web_message_response

__all__ = ["ROUTES", "analytics_tables_missing"]

_TABLES_CLEARED = "analytics_tables_cleared"


def analytics_tables_missing(state: EmulatorState) -> bool:
    """True after `analyticsTableClear` until analytics tables are generated again."""
    return bool(getattr(state, _TABLES_CLEARED, False))


async def maintenance(request: Request) -> Response:
    """`POST /api/maintenance`: run the requested maintenance tasks."""
    state = emulator_state(request)
    params = request.query_params
    if str(params.get("analyticsTableClear", "false")).lower() == "true":
        setattr(state, _TABLES_CLEARED, True)
    if str(params.get("cacheClear", "false")).lower() == "true":
        state.data_values.refresh_org_units()
    return Response(status_code=204)


async def resource_tables_analytics(request: Request) -> Response:
    """`POST /api/resourceTables/analytics`: generate analytics tables as a job."""
    state = emulator_state(request)
    user = current_user(request)

    def work() -> dict[str, Any]:
        with state.lock:
            state.last_analytics_table_success = datetime.now()  # type: ignore[attr-defined]
            setattr(state, _TABLES_CLEARED, False)
        return {
            "responseType": "ImportSummary",
            "status": "SUCCESS",
            "description": "Analytics tables updated",
        }

    job = state.jobs.submit("ANALYTICS_TABLE", work)
    return web_message_response(
        200, "Initiated inMemoryAnalyticsJob", response=job_configuration(job, user.uid)
    )


ROUTES = [
    api_route("/maintenance", maintenance, methods=["POST"]),
    api_route("/resourceTables/analytics", resource_tables_analytics, methods=["POST"]),
]
