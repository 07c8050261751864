"""Metadata of the DHIS2 emulator: list selection, single objects, references, the export.

Lists support DHIS2's `filter` (with `rootJunction`), `query`, `order`, `defaults=EXCLUDE`
and, for org units, `level`, `maxLevel` and `userOnly` (`ObjectQuery`); large org unit
trees answer common filters (`id:in`, `parent.id:eq`, `level`, `path:like`) from indexes.
Objects render through the `fields` language with references resolved (`make_resolver`).

Example:
    >>> from prefect_dhis2.testing.core.dataset import generate_dataset
    >>> dataset = generate_dataset(60)
    >>> units = select_objects(dataset, "organisationUnits", ObjectQuery(filters=["level:eq:2"]))
    >>> len(units)
    13
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from prefect_dhis2.testing.core.dataset import SCHEMAS, Dhis2Dataset
from prefect_dhis2.testing.core.fields import FieldSpec, apply_fields, apply_fields_many
from prefect_dhis2.testing.core.filters import parse_filters, sort_objects
from prefect_dhis2.testing.core.state import EmulatorState

__all__ = [
    "ObjectQuery",
    "filled_org_unit_levels",
    "known_properties",
    "make_resolver",
    "org_unit_family",
    "render_object",
    "render_objects",
    "select_objects",
    "system_block",
]

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


@dataclass(frozen=True)
class ObjectQuery:
    """What a list request selects, sorts and narrows (DHIS2's list parameters).

    Attributes:
        filters: `filter` expressions (`property:operator:value`).
        root_junction: `AND` (default) or `OR` between filters.
        query: `query`: an id, a code, or a case-insensitive part of the name.
        order: `order` terms (`name:asc`).
        exclude_defaults: `defaults=EXCLUDE`: drop objects named `default`.
        level: Org units only: exactly this level.
        max_level: Org units only: at most this level.
        within: Org units only (`userOnly=true`): just these units (the user's roots).
    """

    filters: Sequence[str] = ()
    root_junction: str = "AND"
    query: str | None = None
    order: Sequence[str] = ()
    exclude_defaults: bool = False
    level: int | None = None
    max_level: int | None = None
    within: Sequence[str] | None = None


def select_objects(
    dataset: Dhis2Dataset, collection: str, selection: ObjectQuery | None = None
) -> Sequence[Obj]:
    """Objects of `collection` matching a list request's filters, query and org unit options,
    in the requested (or default, by name) order.

    Raises:
        FilterError: For a filter DHIS2 would reject (409).

    Example:
        >>> from prefect_dhis2.testing.core.dataset import generate_dataset
        >>> dataset = generate_dataset(60)
        >>> [o["name"] for o in select_objects(dataset, "organisationUnits", ObjectQuery(level=1))]
        ['Sierra Leone']
    """
    selection = selection or ObjectQuery()
    coll = dataset.objects[collection]
    known = known_properties(dataset, collection)
    filter_texts = list(selection.filters)
    junction = selection.root_junction.upper()
    filters = parse_filters(filter_texts, known)
    ids = dataset.ordered_ids(collection)

    if collection == "organisationUnits":
        table = dataset.org_units
        level, max_level = selection.level, selection.max_level
        narrowed, exact = (
            _narrow_org_units(dataset, filter_texts, junction) if coll.lazy else (None, False)
        )
        if exact:
            filters = []  # every filter was answered from the indexes
        if selection.within is not None:
            roots = set(selection.within)
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
    if selection.exclude_defaults:
        ids = [u for u in ids if coll[u].get("name") != "default"]

    query = selection.query
    orders = list(selection.order)
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


def org_unit_family(
    dataset: Dhis2Dataset,
    uid: str,
    *,
    include_descendants: bool = False,
    include_children: bool = False,
    include_ancestors: bool = False,
    level: int | None = None,
) -> list[str] | None:
    """Units for `includeChildren|includeDescendants|includeAncestors|level` (None if absent).

    Example:
        >>> from prefect_dhis2.testing.core.dataset import generate_dataset
        >>> dataset = generate_dataset(60)
        >>> len(org_unit_family(dataset, "ImspTQPwCqd", include_children=True))
        14
        >>> org_unit_family(dataset, "ImspTQPwCqd") is None
        True
    """
    names = dataset.org_units.names
    index = dataset.org_units.index

    def by_name(uids: list[str]) -> list[str]:
        return sorted(uids, key=lambda u: (names[index[u]], u))

    if include_descendants:
        return [uid, *by_name(dataset.descendants(uid))]
    if include_children:
        return [uid, *by_name(dataset.children(uid))]
    if include_ancestors:
        return [uid, *dataset.ancestors(uid)]
    if level is not None:
        target = dataset.level_of(uid) + level
        return by_name(dataset.descendants(uid, level=target)) if level > 0 else [uid]
    return None


def render_objects(
    dataset: Dhis2Dataset, collection: str, objects: Sequence[Obj], specs: list[FieldSpec]
) -> list[dict[str, Any]]:
    """Objects rendered with `fields` specs (references resolved, `:owner` per schema)."""
    schema = SCHEMAS.get(collection)
    owner_exclude = schema.owner_exclude if schema else frozenset()
    return apply_fields_many(list(objects), specs, make_resolver(dataset), owner_exclude)


def render_object(dataset: Dhis2Dataset, collection: str, obj: Obj, specs: list[FieldSpec]) -> Any:
    """One object rendered with `fields` specs (`:owner` per the collection's schema)."""
    return apply_fields(obj, specs, make_resolver(dataset), SCHEMAS[collection].owner_exclude)


def filled_org_unit_levels(dataset: Dhis2Dataset) -> list[dict[str, Any]]:
    """Every org unit level, by level (the `filledOrganisationUnitLevels` body).

    Example:
        >>> from prefect_dhis2.testing.core.dataset import generate_dataset
        >>> [lv["level"] for lv in filled_org_unit_levels(generate_dataset(60))]
        [1, 2, 3, 4]
    """
    levels = sorted(dataset.objects["organisationUnitLevels"].values(),
                    key=lambda o: int(o.get("level", 0)))  # fmt: skip
    return [
        {"id": lv["id"], "name": lv["name"], "displayName": lv.get("displayName", lv["name"]),
         "level": lv["level"]}
        for lv in levels
    ]  # fmt: skip


def system_block(state: EmulatorState) -> dict[str, Any]:
    """The `system` block of a metadata export."""
    return {
        "id": "eed3d451-4ff5-4193-b951-ffcc68954299",
        "rev": "a1b2c3d",
        "version": state.config.full_version,
        "date": datetime.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
    }
