"""`/api/dataValueSets` of the DHIS2 emulator: read and import data values over HTTP.

`GET` parses DHIS2's parameters into a `DataValuesQuery`; `POST` imports a JSON data value
set (`importStrategy`, `dryRun`, `async=true` runs the import as a job). The response
envelope follows the emulated version (`core.import_envelopes`).

Example:
    ```python
    httpx.post(f"{dhis2.base_url}/api/dataValueSets", json={"dataValues": [...]},
               auth=("admin", "district")).json()["response"]["importCount"]
    # {'imported': 1, 'updated': 0, 'ignored': 0, 'deleted': 0}
    ```
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from prefect_dhis2.testing.core.import_envelopes import data_value_import_envelope
from prefect_dhis2.testing.core.requests import (
    api_version,
    current_user,
    emulator_state,
    record_rows,
)
from prefect_dhis2.testing.core.webmessage import (
    JSON_MEDIA_TYPE,
    error_response,
    read_json_object,
    web_message_response,
)
from prefect_dhis2.testing.data_values.models import (
    IMPORT_STRATEGIES,
    DataValuesError,
    DataValuesQuery,
    import_data_value_set,
    read_data_values,
)
from prefect_dhis2.testing.maintenance.models import job_configuration

__all__ = ["get_data_value_sets", "post_data_value_sets"]


def _query(params: QueryParams) -> DataValuesQuery:
    """The `GET /api/dataValueSets` parameters as a query."""
    return DataValuesQuery(
        data_sets=params.getlist("dataSet"),
        data_elements=params.getlist("dataElement"),
        data_element_groups=params.getlist("dataElementGroup"),
        periods=params.getlist("period"),
        start_date=params.get("startDate"),
        end_date=params.get("endDate"),
        last_updated=params.get("lastUpdated"),
        org_units=params.getlist("orgUnit"),
        org_unit_groups=params.getlist("orgUnitGroup"),
        children=str(params.get("children", "false")).lower() == "true",
        include_deleted=str(params.get("includeDeleted", "false")).lower() == "true",
        limit=int(params["limit"]) if str(params.get("limit", "")).isdigit() else None,
    )


async def get_data_value_sets(request: Request) -> Response:
    """`GET /api/dataValueSets`."""
    state = emulator_state(request)
    try:
        body, rows = await run_in_threadpool(read_data_values, state, _query(request.query_params))
    except DataValuesError as error:
        return error_response(409, error.message, error.code)
    record_rows(request, rows)
    return Response(orjson.dumps(body), media_type=JSON_MEDIA_TYPE)


async def post_data_value_sets(request: Request) -> Response:
    """`POST /api/dataValueSets` (JSON)."""
    state = emulator_state(request)
    params = request.query_params
    payload = await read_json_object(request)
    if isinstance(payload, Response):
        return payload
    strategy = str(params.get("importStrategy", "CREATE_AND_UPDATE")).upper()
    if strategy not in IMPORT_STRATEGIES:
        strategy = "CREATE_AND_UPDATE"
    dry_run = str(params.get("dryRun", "false")).lower() == "true"
    is_async = str(params.get("async", "false")).lower() == "true"
    user = current_user(request)
    rows = len(payload.get("dataValues") or [])

    def work() -> dict[str, Any]:
        return import_data_value_set(
            state,
            payload,
            strategy=strategy,
            dry_run=dry_run,
            is_async=is_async,
            username=user.username,
            user_roots=user.org_unit_roots,
        )

    record_rows(request, rows)
    if is_async:
        job = state.jobs.submit("DATAVALUE_IMPORT", work)
        location = f"{request.base_url}api/system/tasks/DATAVALUE_IMPORT".replace("//api", "/api")
        return web_message_response(
            200,
            f"Initiated {job.name}",
            response=job_configuration(job, user.uid),
            headers={"Location": location},
        )
    summary = await run_in_threadpool(work)
    status, body = data_value_import_envelope(
        summary, minor=state.config.minor, api_version=api_version(request)
    )
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_MEDIA_TYPE)
