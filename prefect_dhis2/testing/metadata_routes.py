"""Metadata endpoints of the emulator: lists, single objects and the `/api/metadata` export.

Lists (`GET /api/<collection>`) support `fields`, `filter`, `rootJunction`, `order`, `query`,
`page`/`pageSize`/`paging`, and for org units `level`, `maxLevel` and `userOnly`. Single
objects (`GET /api/<collection>/<uid>`) default to `fields=*`; org units also accept
`includeChildren`, `includeDescendants`, `includeAncestors` and a relative `level`.

Example:
    >>> [r.path for r in ROUTES][:2]
    ['/api/metadata', '/api/filledOrganisationUnitLevels']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, overload

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from prefect_dhis2.testing.app import api_route
from prefect_dhis2.testing.dataset import SCHEMAS, Dhis2Dataset
from prefect_dhis2.testing.fields import (
    FieldSpec,
    FieldsSyntaxError,
    apply_fields,
    apply_fields_many,
    parse_fields,
)
from prefect_dhis2.testing.filters import FilterError, parse_filters, sort_objects
from prefect_dhis2.testing.links import DEFAULT_PAGE_SIZE, build_pager, endpoint_url
from prefect_dhis2.testing.state import EmulatorState, current_user, emulator_state, record_rows
from prefect_dhis2.testing.webmessage import error_response, json_response, not_found_response

__all__ = ["ROUTES", "make_resolver", "select_objects"]

Obj = Mapping[str, Any]

# Property name → collection of the objects it references.
_REF_COLLECTION = {
    "parent": "organisationUnits", "children": "organisationUnits",
    "ancestors": "organisationUnits", "dataViewOrganisationUnits": "organisationUnits",
    "teiSearchOrganisationUnits": "organisationUnits", "categoryCombo": "categoryCombos",
    "dataElement": "dataElements", "dataSet": "dataSets", "indicatorType": "indicatorTypes",
    "groupSets": "organisationUnitGroupSets", "organisationUnitGroupSet":
    "organisationUnitGroupSets", "categoryOption": "categoryOptions",
    "categoryOptionCombo": "categoryOptionCombos", "attributeOptionCombo": "categoryOptionCombos",
    "user": "users", "userRole": "userRoles",
}  # fmt: skip
_COMMON_PROPERTIES = frozenset({"id", "name", "code", "shortName", "description", "displayName",
                                "displayShortName", "created", "lastUpdated", "lastUpdatedBy",
                                "createdBy", "href", "translations", "attributeValues",
                                "sharing", "identifiable"})  # fmt: skip


def make_resolver(dataset: Dhis2Dataset) -> Callable[[str, str], Obj | None]:
    """A `resolve(property, uid)` callback finding referenced objects for nested fields."""
    objects = dataset.objects

    def resolve(key: str, uid: str) -> Obj | None:
        name = _REF_COLLECTION.get(key)
        if name is None:
            name = key if key in objects else key + "s" if key + "s" in objects else None
        if name is not None:
            found = dataset.get(name, uid)
            if found is not None:
                return found
        for coll in objects.values():
            if uid in coll:
                return coll[uid]
        return None

    return resolve


_known_cache: dict[tuple[int, str, int], frozenset[str]] = {}


def known_properties(dataset: Dhis2Dataset, collection: str) -> frozenset[str]:
    """Property names of a collection (from its objects), for filter/order validation."""
    coll = dataset.objects[collection]
    key = (id(dataset), collection, coll.version)
    cached = _known_cache.get(key)
    if cached is None:
        names = set(_COMMON_PROPERTIES)
        for n, uid in enumerate(coll):
            names.update(coll[uid])
            if n >= 50:
                break
        if collection == "organisationUnits":
            names.update({"closedDate", "geometry", "parent", "comment", "url", "contactPerson",
                          "address", "email", "phoneNumber"})  # fmt: skip
        cached = _known_cache[key] = frozenset(names)
    return cached


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


_LEVEL_TESTS: dict[str, Callable[[int, int], bool]] = {
    "eq": lambda a, b: a == b,
    "!eq": lambda a, b: a != b,
    "ne": lambda a, b: a != b,
    "neq": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "gte": lambda a, b: a >= b,
}


def _units_at_levels(dataset: Dhis2Dataset, op: str, value: str) -> set[str] | None:
    """Units whose level satisfies `level:<op>:<value>`, from the level index."""
    levels = range(1, dataset.max_level + 1)
    if op in ("in", "!in"):
        wanted = {int(v) for v in value.strip("[]").split(",") if v.strip().isdigit()}
        chosen = [lv for lv in levels if (lv in wanted) == (op == "in")]
    elif op in _LEVEL_TESTS and value.isdigit():
        chosen = [lv for lv in levels if _LEVEL_TESTS[op](lv, int(value))]
    else:
        return None
    return {u for lv in chosen for u in dataset.org_units_at_level(lv)}


def _narrow_org_units(
    dataset: Dhis2Dataset, filters: list[str], junction: str
) -> tuple[set[str] | None, bool]:
    """Cheap candidate sets for common org unit filters on large trees (AND junction only).

    Returns the candidates (None when no filter could be narrowed) and whether the
    candidates are exact, i.e. every filter was answered from the indexes.
    """
    if junction == "OR":
        return None, False
    candidate: set[str] | None = None
    exact = True
    for raw in filters:
        parts = raw.split(":", 2)
        if len(parts) != 3:
            exact = False
            continue
        path, op, value = parts
        found: set[str] | None = None
        try:
            if path == "id" and op == "in":
                found = {v.strip() for v in value.strip("[]").split(",")}
            elif path == "id" and op == "eq":
                found = {value}
            elif path == "parent.id" and op == "eq":
                found = set(dataset.children(value)) if value in dataset.org_units.index else set()
            elif path == "level":
                found = _units_at_levels(dataset, op, value)
            elif path == "path" and op in ("like", "$like") and value:
                last = value.rstrip("/").split("/")[-1]
                if last in dataset.org_units.index:
                    found = {last, *dataset.descendants(last)}
        except KeyError:
            found = set()
        if found is None:
            exact = False
        else:
            candidate = found if candidate is None else candidate & found
    return candidate, exact and candidate is not None


class _Rendered(Sequence[Obj]):
    """Objects of `ids`, rendered on access (a page of a lazy collection costs one page)."""

    def __init__(self, ids: list[str], coll: Mapping[str, Obj]) -> None:
        self._ids = ids
        self._coll = coll

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Obj: ...

    @overload
    def __getitem__(self, index: slice) -> list[Obj]: ...

    def __getitem__(self, index: int | slice) -> Obj | list[Obj]:
        if isinstance(index, slice):
            return [self._coll[u] for u in self._ids[index]]
        return self._coll[self._ids[index]]


def select_objects(
    state: EmulatorState,
    collection: str,
    request: Request,
    *,
    filter_param: str = "filter",
    order_param: str = "order",
) -> Sequence[Obj]:
    """Objects of `collection` matching the request's filters, query and org unit params,
    in the requested (or default, by name) order.

    Raises:
        FilterError: For a filter DHIS2 would reject (409).
    """
    dataset = state.dataset
    coll = dataset.objects[collection]
    known = known_properties(dataset, collection)
    filter_texts = _param_list(request, filter_param)
    if filter_param != "filter":
        filter_texts = filter_texts + _param_list(request, "filter")
    junction = request.query_params.get("rootJunction", "AND").upper()
    filters = parse_filters(filter_texts, known)
    ids = dataset.ordered_ids(collection)

    if collection == "organisationUnits":
        table = dataset.org_units
        level = _int_param(request, "level", None)
        max_level = _int_param(request, "maxLevel", None)
        narrowed, exact = (
            _narrow_org_units(dataset, filter_texts, junction) if coll.lazy else (None, False)
        )
        if exact:
            filters = []  # every filter was answered from the indexes
        if _flag(request, "userOnly"):
            roots = set(current_user(request).org_unit_roots)
            narrowed = roots if narrowed is None else narrowed & roots
        if narrowed is not None:
            ids = [u for u in ids if u in narrowed]
        if level is not None or max_level is not None:
            index, levels = table.index, table.levels
            ids = [
                u
                for u in ids
                if u in index
                and (level is None or levels[index[u]] == level)
                and (max_level is None or levels[index[u]] <= max_level)
            ]
    if request.query_params.get("defaults", "").upper() == "EXCLUDE":
        ids = [u for u in ids if coll[u].get("name") != "default"]

    query = request.query_params.get("query")
    orders = _param_list(request, order_param)
    if not (query or filters or orders):
        return _Rendered(ids, coll)  # render only the requested page (large trees)
    objects: list[Obj] = [coll[u] for u in ids]
    if query:
        q = query.lower()
        objects = [
            o for o in objects
            if o.get("id") == query or o.get("code") == query or q in str(o.get("name", "")).lower()
        ]  # fmt: skip
    if filters:
        resolve = make_resolver(dataset)
        if junction == "OR":
            objects = [o for o in objects if any(f.matches(o, resolve) for f in filters)]
        else:
            objects = [o for o in objects if all(f.matches(o, resolve) for f in filters)]
    if orders:
        objects = sort_objects(objects, orders, known)
    return objects


def _render(
    state: EmulatorState, collection: str, objects: Sequence[Obj], specs: list[FieldSpec]
) -> list[dict[str, Any]]:
    schema = SCHEMAS.get(collection)
    owner_exclude = schema.owner_exclude if schema else frozenset()
    return apply_fields_many(list(objects), specs, make_resolver(state.dataset), owner_exclude)


def _list_handler(collection: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        state = emulator_state(request)
        try:
            specs = _fields(request, "id,displayName")
        except FieldsSyntaxError as exc:
            return error_response(400, str(exc))
        try:
            objects = select_objects(state, collection, request)
        except FilterError as exc:
            return error_response(409, str(exc))
        paging = request.query_params.get("paging", "true").lower() != "false"
        if not paging:
            rows = _render(state, collection, objects, specs)
            record_rows(request, len(rows))
            return json_response({collection: rows})
        page = max(_int_param(request, "page", 1) or 1, 1)
        page_size = _int_param(request, "pageSize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
        page_size = max(page_size, 1)
        window = objects[(page - 1) * page_size : page * page_size]
        rows = _render(state, collection, window, specs)
        pager = build_pager(
            page, len(objects), page_size, endpoint_url(request), request.query_params.multi_items()
        )
        record_rows(request, len(rows))
        return json_response({"pager": pager, collection: rows})

    return handler


def _org_unit_family(dataset: Dhis2Dataset, uid: str, request: Request) -> list[str] | None:
    """Units for `includeChildren|includeDescendants|includeAncestors|level` (None if absent)."""
    names = dataset.org_units.names
    index = dataset.org_units.index

    def by_name(uids: list[str]) -> list[str]:
        return sorted(uids, key=lambda u: (names[index[u]], u))

    if _flag(request, "includeDescendants"):
        return [uid, *by_name(dataset.descendants(uid))]
    if _flag(request, "includeChildren"):
        return [uid, *by_name(dataset.children(uid))]
    if _flag(request, "includeAncestors"):
        return [uid, *dataset.ancestors(uid)]
    relative = _int_param(request, "level", None)
    if relative is not None:
        target = dataset.level_of(uid) + relative
        return by_name(dataset.descendants(uid, level=target)) if relative > 0 else [uid]
    return None


def _object_handler(collection: str) -> Callable[[Request], Any]:
    schema = SCHEMAS[collection]

    async def handler(request: Request) -> Response:
        state = emulator_state(request)
        uid = request.path_params["uid"]
        obj = state.dataset.get(collection, uid)
        if obj is None:
            return not_found_response(schema.simple_name, uid)
        if collection == "organisationUnits" and uid in state.dataset.org_units.index:
            family = _org_unit_family(state.dataset, uid, request)
            if family is not None:
                try:
                    specs = _fields(request, "id,displayName")
                except FieldsSyntaxError as exc:
                    return error_response(400, str(exc))
                coll = state.dataset.objects[collection]
                rows = _render(state, collection, [coll[u] for u in family if u in coll], specs)
                record_rows(request, len(rows))
                return json_response({collection: rows})
        try:
            specs = _fields(request, "*")
        except FieldsSyntaxError as exc:
            return error_response(400, str(exc))
        rendered = apply_fields(obj, specs, make_resolver(state.dataset), schema.owner_exclude)
        record_rows(request, 1)
        return json_response(rendered)

    return handler


async def filled_org_unit_levels(request: Request) -> Response:
    """`GET /api/filledOrganisationUnitLevels`: a bare array of every level, by level."""
    state = emulator_state(request)
    levels = sorted(state.dataset.objects["organisationUnitLevels"].values(),
                    key=lambda o: int(o.get("level", 0)))  # fmt: skip
    rows = [
        {"id": lv["id"], "name": lv["name"], "displayName": lv.get("displayName", lv["name"]),
         "level": lv["level"]}
        for lv in levels
    ]  # fmt: skip
    record_rows(request, len(rows))
    return json_response(rows)


def system_block(state: EmulatorState) -> dict[str, Any]:
    """The `system` block of a metadata export."""
    return {
        "id": "eed3d451-4ff5-4193-b951-ffcc68954299",
        "rev": "a1b2c3d",
        "version": state.config.full_version,
        "date": datetime.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
    }


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
            objects = select_objects(
                state, name, request, filter_param=f"{name}:filter", order_param=f"{name}:order"
            )
        except FieldsSyntaxError as exc:
            return error_response(400, str(exc))
        except FilterError as exc:
            return error_response(409, str(exc))
        rows = _render(state, name, objects, specs)
        payload[name] = rows
        total += len(rows)
    record_rows(request, total)
    return json_response(payload)


def _collection_routes() -> list[Route]:
    routes: list[Route] = []
    for name in SCHEMAS:
        routes.append(api_route(f"/{name}", _list_handler(name)))
        routes.append(api_route(f"/{name}/{{uid}}", _object_handler(name)))
    return routes


ROUTES: list[Route] = [
    api_route("/metadata", metadata_export),
    api_route("/filledOrganisationUnitLevels", filled_org_unit_levels),
    *_collection_routes(),
]
