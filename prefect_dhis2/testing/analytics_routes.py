"""Analytics endpoints of the DHIS2 emulator.

- `GET /api/analytics`: the aggregate analytics grid (see `analytics_grid`).
- `GET /api/analytics/dataValueSet`: the same query as data values (dx, pe and ou required).
- `GET /api/analytics/rawData`: the grid with org units expanded to their facilities.

Illegal queries answer 409 WebMessages with DHIS2's error codes; a result over the
configured `max_analytics_rows` answers E7128 unless `ignoreLimit=true`.

Example:
    >>> import httpx
    >>> httpx.get(f"{dhis2.base_url}/api/analytics",
    ...           params={"dimension": ["dx:fbfJHSPpUQD", "pe:2024Q1", "ou:ImspTQPwCqd"]},
    ...           auth=("admin", "district")).json()["rows"]
    [['fbfJHSPpUQD', '2024Q1', 'ImspTQPwCqd', '...']]
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from prefect_dhis2.testing.analytics_grid import build_analytics_grid
from prefect_dhis2.testing.analytics_query import (
    AnalyticsError,
    AnalyticsQuery,
    OrgUnitItem,
    parse_analytics_query,
)
from prefect_dhis2.testing.app import api_route
from prefect_dhis2.testing.maintenance_routes import analytics_tables_missing
from prefect_dhis2.testing.state import EmulatorState, current_user, emulator_state, record_rows
from prefect_dhis2.testing.webmessage import JSON_MEDIA_TYPE, error_response

__all__ = ["ROUTES"]

# Queries estimated above this many cells are computed off the event loop.
_THREAD_THRESHOLD = 5_000


def _parse(request: Request, state: EmulatorState) -> AnalyticsQuery:
    params = request.query_params
    user = current_user(request)
    return parse_analytics_query(
        params.getlist("dimension"),
        params.getlist("filter"),
        dict(params),
        state.dataset,
        state.data_values,
        user_roots=user.org_unit_roots,
        at=state.config.today,
    )


def _estimate(query: AnalyticsQuery) -> int:
    size = 1
    for d in query.dimensions:
        size *= max(len(d.items), 1)
    return size


async def _run(request: Request, compute: Any) -> Response:
    state = emulator_state(request)
    if analytics_tables_missing(state):
        return error_response(
            409,
            "Query failed because a referenced table does not exist. "
            "Please ensure analytics job was run",
            "E7144",
        )
    try:
        query = _parse(request, state)
        if _estimate(query) > _THREAD_THRESHOLD:
            body, rows = await run_in_threadpool(compute, query, state)
        else:
            body, rows = compute(query, state)
    except AnalyticsError as error:
        return error_response(409, error.message, error.code)
    record_rows(request, rows)
    return Response(orjson.dumps(body), media_type=JSON_MEDIA_TYPE)


def _grid(query: AnalyticsQuery, state: EmulatorState) -> tuple[dict[str, Any], int]:
    return build_analytics_grid(
        query, state.dataset, state.data_values, max_rows=state.config.max_analytics_rows
    )


async def analytics(request: Request) -> Response:
    """`GET /api/analytics`: the aggregate analytics grid."""
    return await _run(request, _grid)


def _raw(query: AnalyticsQuery, state: EmulatorState) -> tuple[dict[str, Any], int]:
    # Raw data: every requested org unit is replaced by the facilities below it.
    dataset, store = state.dataset, state.data_values
    facilities = set(dataset.facility_ids)
    for d in (*query.dimensions, *query.filters):
        if d.dim != "ou":
            continue
        expanded: list[OrgUnitItem] = []
        seen: set[str] = set()
        for item in d.items:
            units = [item.id] if item.id in facilities else dataset.descendants(item.id)
            for uid in units:
                if uid in facilities and uid not in seen:
                    seen.add(uid)
                    lo, hi = store.org_unit_range(uid)
                    expanded.append(OrgUnitItem(uid, lo, hi))
        d.items = expanded
    return _grid(query, state)


async def raw_data(request: Request) -> Response:
    """`GET /api/analytics/rawData`: the grid at facility level."""
    return await _run(request, _raw)


def _data_value_set(query: AnalyticsQuery, state: EmulatorState) -> tuple[dict[str, Any], int]:
    dims = {d.dim for d in query.dimensions}
    for dim, code, message in (
        ("dx", "E7117", "A data dimension 'dx' must be specified"),
        ("pe", "E7118", "A period dimension 'pe' must be specified"),
        ("ou", "E7119", "An organisation unit dimension 'ou' must be specified"),
    ):
        if dim not in dims:
            raise AnalyticsError(code, f"{message} when output format is DATA_VALUE_SET")
    query.options["skipMeta"] = True
    query.options["includeNumDen"] = False
    query.dimensions = [d for d in query.dimensions if d.dim in ("dx", "pe", "ou", "co")]
    order = {name: i for i, name in enumerate(("dx", "pe", "ou", "co"))}
    query.dimensions.sort(key=lambda d: order[d.dim])
    body, rows = _grid(query, state)
    has_co = any(d.dim == "co" for d in query.dimensions)
    values: list[dict[str, str]] = []
    for row in body["rows"]:
        dx = row[0]
        entry: dict[str, str] = {}
        if "." in dx:
            de, _, coc = dx.partition(".")
            entry["dataElement"] = de
            entry["period"] = row[1]
            entry["orgUnit"] = row[2]
            entry["categoryOptionCombo"] = coc
        else:
            entry["dataElement"] = dx
            entry["period"] = row[1]
            entry["orgUnit"] = row[2]
            if has_co:
                entry["categoryOptionCombo"] = row[3]
        entry["value"] = row[-1]
        values.append(entry)
    return {"dataValues": values}, rows


async def data_value_set(request: Request) -> Response:
    """`GET /api/analytics/dataValueSet`: analytics output as data values."""
    return await _run(request, _data_value_set)


ROUTES = [
    api_route("/analytics", analytics),
    api_route("/analytics/rawData", raw_data),
    api_route("/analytics/dataValueSet", data_value_set),
]
