"""Maintenance endpoints of the DHIS2 emulator: jobs, analytics tables, caches.

- `GET /api/system/tasks/{type}/{id}`: a job's notifications, newest first;
  `GET /api/system/tasks/{type}`: notifications of every job of a type, by job id;
  `GET /api/system/taskSummaries/{type}/{id}`: the job's summary (empty while running).
- `POST /api/resourceTables/analytics` starts an `ANALYTICS_TABLE` job; when it finishes,
  `lastAnalyticsTableSuccess` (shown by `/api/system/info`) moves to now and cleared
  analytics tables are available again.
- `POST /api/maintenance?analyticsTableClear=true` drops the analytics tables: analytics
  queries then fail with E7144 until the tables are generated again. `cacheClear=true`
  re-reads the org unit tree; other maintenance flags (`zeroDataValueRemoval`, ...) are
  accepted and do nothing.

Example:
    ```python
    httpx.post(f"{dhis2.base_url}/api/resourceTables/analytics", auth=auth).json()["message"]
    # 'Initiated inMemoryAnalyticsJob'
    ```
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from prefect_dhis2.testing.core.requests import current_user, emulator_state
from prefect_dhis2.testing.core.webmessage import json_response, web_message, web_message_response
from prefect_dhis2.testing.maintenance.models import job_configuration, start_analytics_table_job

__all__ = ["maintenance", "resource_tables_analytics", "task_summary", "tasks", "tasks_of_type"]


async def tasks(request: Request) -> Response:
    """`GET /api/system/tasks/{type}/{id}`: the job's notifications, newest first."""
    job = emulator_state(request).jobs.get(request.path_params["job_id"])
    if job is None or job.job_type != request.path_params["job_type"]:
        return json_response([])
    return json_response(list(job.notifications))


async def tasks_of_type(request: Request) -> Response:
    """`GET /api/system/tasks/{type}`: notifications of every job of a type, by job id."""
    jobs = emulator_state(request).jobs.of_type(request.path_params["job_type"])
    return json_response({job.id: list(job.notifications) for job in jobs})


async def task_summary(request: Request) -> Response:
    """`GET /api/system/taskSummaries/{type}/{id}`: the job's summary (null while running)."""
    job = emulator_state(request).jobs.get(request.path_params["job_id"])
    if job is None or job.job_type != request.path_params["job_type"]:
        return json_response(
            web_message(404, f"Job with id {request.path_params['job_id']} could not be found."),
            404,
        )
    if not job.done.is_set():
        return Response(b"", status_code=200, media_type="application/json")
    return json_response(job.summary)


async def maintenance(request: Request) -> Response:
    """`POST /api/maintenance`: run the requested maintenance tasks."""
    state = emulator_state(request)
    params = request.query_params
    if str(params.get("analyticsTableClear", "false")).lower() == "true":
        state.analytics_tables.clear()
    if str(params.get("cacheClear", "false")).lower() == "true":
        state.data_values.refresh_org_units()
    return Response(status_code=204)


async def resource_tables_analytics(request: Request) -> Response:
    """`POST /api/resourceTables/analytics`: generate analytics tables as a job."""
    state = emulator_state(request)
    user = current_user(request)
    job = start_analytics_table_job(state.jobs, state.analytics_tables, state.lock)
    return web_message_response(
        200, "Initiated inMemoryAnalyticsJob", response=job_configuration(job, user.uid)
    )
