"""Metadata endpoints of the emulator: lists, single objects, the export and the import.

Lists (`GET /api/<collection>`) support `fields`, `filter`, `rootJunction`, `order`, `query`,
`page`/`pageSize`/`paging`, and for org units `level`, `maxLevel` and `userOnly`. Single
objects (`GET /api/<collection>/<uid>`) default to `fields=*`; org units also accept
`includeChildren`, `includeDescendants`, `includeAncestors` and a relative `level`.
`GET /api/metadata` exports, `POST /api/metadata` imports (`metadata.imports`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from prefect_dhis2.testing.core.dataset import SCHEMAS
from prefect_dhis2.testing.core.fields import FieldSpec, FieldsSyntaxError, parse_fields
from prefect_dhis2.testing.core.filters import FilterError
from prefect_dhis2.testing.core.import_envelopes import metadata_import_envelope
from prefect_dhis2.testing.core.paging import DEFAULT_PAGE_SIZE, build_pager, endpoint_url
from prefect_dhis2.testing.core.requests import current_user, emulator_state, record_rows
from prefect_dhis2.testing.core.webmessage import (
    JSON_MEDIA_TYPE,
    error_response,
    json_response,
    not_found_response,
    read_json_object,
)
from prefect_dhis2.testing.metadata.imports import import_metadata
from prefect_dhis2.testing.metadata.models import (
    ObjectQuery,
    filled_org_unit_levels,
    org_unit_family,
    render_object,
    render_objects,
    select_objects,
    system_block,
)

__all__ = [
    "collection_endpoint",
    "filled_org_unit_levels_endpoint",
    "metadata_export",
    "object_endpoint",
    "post_metadata",
]


def _param_list(request: Request, name: str) -> list[str]:
    return request.query_params.getlist(name)


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return default


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _fields(request: Request, default: str, name: str = "fields") -> list[FieldSpec]:
    joined = ",".join(v for v in _param_list(request, name) if v)
    return parse_fields(joined, default)


def _object_query(
    request: Request, collection: str, filter_param: str = "filter", order_param: str = "order"
) -> ObjectQuery:
    """The list parameters of a request (`<type>:filter`/`<type>:order` for the export)."""
    filters = _param_list(request, filter_param)
    if filter_param != "filter":
        filters = filters + _param_list(request, "filter")
    params = request.query_params
    org_units = collection == "organisationUnits"
    return ObjectQuery(
        filters=filters,
        root_junction=params.get("rootJunction", "AND"),
        query=params.get("query"),
        order=_param_list(request, order_param),
        exclude_defaults=params.get("defaults", "").upper() == "EXCLUDE",
        level=_int_param(request, "level", None) if org_units else None,
        max_level=_int_param(request, "maxLevel", None) if org_units else None,
        within=(
            current_user(request).org_unit_roots
            if org_units and _flag(request, "userOnly")
            else None
        ),
    )


def collection_endpoint(collection: str) -> Callable[[Request], Any]:
    """The `GET /api/<collection>` handler of one collection (paged list)."""

    async def handler(request: Request) -> Response:
        dataset = emulator_state(request).dataset
        try:
            specs = _fields(request, "id,displayName")
        except FieldsSyntaxError as exc:
            return error_response(400, str(exc))
        try:
            objects = select_objects(dataset, collection, _object_query(request, collection))
        except FilterError as exc:
            return error_response(409, str(exc))
        paging = request.query_params.get("paging", "true").lower() != "false"
        if not paging:
            rows = render_objects(dataset, collection, objects, specs)
            record_rows(request, len(rows))
            return json_response({collection: rows})
        page = max(_int_param(request, "page", 1) or 1, 1)
        page_size = _int_param(request, "pageSize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
        page_size = max(page_size, 1)
        window = objects[(page - 1) * page_size : page * page_size]
        rows = render_objects(dataset, collection, window, specs)
        pager = build_pager(
            page, len(objects), page_size, endpoint_url(request), request.query_params.multi_items()
        )
        record_rows(request, len(rows))
        return json_response({"pager": pager, collection: rows})

    return handler


def object_endpoint(collection: str) -> Callable[[Request], Any]:
    """The `GET /api/<collection>/<uid>` handler of one collection."""
    schema = SCHEMAS[collection]

    async def handler(request: Request) -> Response:
        dataset = emulator_state(request).dataset
        uid = request.path_params["uid"]
        obj = dataset.get(collection, uid)
        if obj is None:
            return not_found_response(schema.simple_name, uid)
        if collection == "organisationUnits" and uid in dataset.org_units.index:
            family = org_unit_family(
                dataset,
                uid,
                include_descendants=_flag(request, "includeDescendants"),
                include_children=_flag(request, "includeChildren"),
                include_ancestors=_flag(request, "includeAncestors"),
                level=_int_param(request, "level", None),
            )
            if family is not None:
                try:
                    specs = _fields(request, "id,displayName")
                except FieldsSyntaxError as exc:
                    return error_response(400, str(exc))
                coll = dataset.objects[collection]
                rows = render_objects(
                    dataset, collection, [coll[u] for u in family if u in coll], specs
                )
                record_rows(request, len(rows))
                return json_response({collection: rows})
        try:
            specs = _fields(request, "*")
        except FieldsSyntaxError as exc:
            return error_response(400, str(exc))
        rendered = render_object(dataset, collection, obj, specs)
        record_rows(request, 1)
        return json_response(rendered)

    return handler


async def filled_org_unit_levels_endpoint(request: Request) -> Response:
    """`GET /api/filledOrganisationUnitLevels`: a bare array of every level, by level."""
    rows = filled_org_unit_levels(emulator_state(request).dataset)
    record_rows(request, len(rows))
    return json_response(rows)


async def metadata_export(request: Request) -> Response:
    """`GET /api/metadata`: export selected types (default: all) with `:owner` fields."""
    state = emulator_state(request)
    dataset = state.dataset
    params = request.query_params
    selected = [
        name for name in dataset.objects if params.get(name, "").lower() == "true"
    ] or sorted(dataset.objects)
    payload: dict[str, Any] = {"system": system_block(state)}
    total = 0
    for name in sorted(selected):
        try:
            default_fields = ",".join(v for v in params.getlist("fields") if v) or ":owner"
            specs = _fields(request, default_fields, f"{name}:fields")
            selection = _object_query(request, name, f"{name}:filter", f"{name}:order")
            objects = select_objects(dataset, name, selection)
        except FieldsSyntaxError as exc:
            return error_response(400, str(exc))
        except FilterError as exc:
            return error_response(409, str(exc))
        rows = render_objects(dataset, name, objects, specs)
        payload[name] = rows
        total += len(rows)
    record_rows(request, total)
    return json_response(payload)


async def post_metadata(request: Request) -> Response:
    """`POST /api/metadata` (JSON)."""
    state = emulator_state(request)
    params = request.query_params
    payload = await read_json_object(request)
    if isinstance(payload, Response):
        return payload
    report = import_metadata(
        state,
        payload,
        import_mode=str(params.get("importMode", "COMMIT")).upper(),
        strategy=str(params.get("importStrategy", "CREATE_AND_UPDATE")).upper(),
        atomic_mode=str(params.get("atomicMode", "ALL")).upper(),
        identifier=str(params.get("identifier", "UID")).upper(),
        username=current_user(request).username,
    )
    if state.config.minor <= 37:
        report = {
            "importParams": {
                "importMode": str(params.get("importMode", "COMMIT")).upper(),
                "importStrategy": str(params.get("importStrategy", "CREATE_AND_UPDATE")).upper(),
                "atomicMode": str(params.get("atomicMode", "ALL")).upper(),
            },
            **{k: v for k, v in report.items() if k != "responseType"},
        }
    status, body = metadata_import_envelope(report, minor=state.config.minor)
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_MEDIA_TYPE)
