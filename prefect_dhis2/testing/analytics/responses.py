"""Analytics endpoints of the DHIS2 emulator.

- `GET /api/analytics`: the aggregate analytics grid (see `analytics.grid`).
- `GET /api/analytics/dataValueSet`: the same query as data values (dx, pe and ou required).
- `GET /api/analytics/rawData`: the grid with org units expanded to their facilities.

Illegal queries answer 409 WebMessages with DHIS2's error codes; a result over the
configured `max_analytics_rows` answers E7128 unless `ignoreLimit=true`.

Example:
    ```python
    httpx.get(f"{dhis2.base_url}/api/analytics",
              params={"dimension": ["dx:fbfJHSPpUQD", "pe:2024Q1", "ou:ImspTQPwCqd"]},
              auth=("admin", "district")).json()["rows"]
    # [['fbfJHSPpUQD', '2024Q1', 'ImspTQPwCqd', '...']]
    ```
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from prefect_dhis2.testing.analytics import models
from prefect_dhis2.testing.analytics.request import AnalyticsError, AnalyticsRequest
from prefect_dhis2.testing.core.requests import current_user, emulator_state, record_rows
from prefect_dhis2.testing.core.state import EmulatorState
from prefect_dhis2.testing.core.webmessage import JSON_MEDIA_TYPE, error_response

__all__ = ["analytics", "data_value_set", "raw_data"]

# Queries estimated above this many cells are computed off the event loop.
_THREAD_THRESHOLD = 5_000

Compute = Callable[[AnalyticsRequest, EmulatorState], tuple[dict[str, Any], int]]


async def _run(request: Request, compute: Compute) -> Response:
    state = emulator_state(request)
    params = request.query_params
    try:
        models.check_analytics_tables(state)
        query = models.request_for(
            state,
            params.getlist("dimension"),
            params.getlist("filter"),
            dict(params),
            user_roots=current_user(request).org_unit_roots,
        )
        if models.estimated_cells(query) > _THREAD_THRESHOLD:
            body, rows = await run_in_threadpool(compute, query, state)
        else:
            body, rows = compute(query, state)
    except AnalyticsError as error:
        return error_response(409, error.message, error.code)
    record_rows(request, rows)
    return Response(orjson.dumps(body), media_type=JSON_MEDIA_TYPE)


async def analytics(request: Request) -> Response:
    """`GET /api/analytics`: the aggregate analytics grid."""
    return await _run(request, models.analytics_grid)


async def raw_data(request: Request) -> Response:
    """`GET /api/analytics/rawData`: the grid at facility level."""
    return await _run(request, models.raw_data)


async def data_value_set(request: Request) -> Response:
    """`GET /api/analytics/dataValueSet`: analytics output as data values."""
    return await _run(request, models.data_value_set)
