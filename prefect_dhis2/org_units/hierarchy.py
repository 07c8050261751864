"""The org unit hierarchy: levels, the tree's filters, and flat rows with one column
pair per level.

Pure: no Prefect. `afetch_org_units` and `afetch_org_unit_levels` read the tree with a
live `AsyncDhis2Client`; `flatten_org_unit` turns one unit into a flat row with
`level_N_id`/`level_N_name` for every ancestor level (derived from its `path`), so
memory does not grow when a large tree is flattened page by page.

Examples:
    >>> rows = flatten_org_units_rows(
    ...     [{"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1, "path": "/ImspTQPwCqd"},
    ...      {"id": "O6uvpzGd5pu", "name": "Bo", "level": 2, "path": "/ImspTQPwCqd/O6uvpzGd5pu"}],
    ...     [{"level": 1, "name": "National"}, {"level": 2, "name": "District"}])
    >>> rows[1]["level_1_name"], rows[1]["level_2_name"], rows[1]["parent_id"]
    ('Sierra Leone', 'Bo', 'ImspTQPwCqd')
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prefect_dhis2.uids import validate_uid
from prefect_dhis2.writers import Column

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "LEVEL_FIELDS",
    "ORG_UNIT_FIELDS",
    "afetch_org_unit_levels",
    "afetch_org_units",
    "flatten_org_unit",
    "flatten_org_units_rows",
    "level_names",
    "org_unit_column_names",
    "org_unit_columns",
    "org_unit_filters",
    "org_unit_values",
]

ORG_UNIT_FIELDS = "id,name,shortName,code,level,path,parent[id],openingDate,closedDate,geometry"
"""The fields a flat org unit row needs."""

_BASE_COLUMNS = [
    Column("id"),
    Column("name"),
    Column("short_name"),
    Column("code"),
    Column("level", "int"),
    Column("parent_id"),
    Column("path_depth", "int"),
    Column("opening_date", "date"),
    Column("closed_date", "date"),
    Column("geometry_type"),
    Column("longitude", "float"),
    Column("latitude", "float"),
]


def level_names(levels: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Map level number to level name from `organisationUnitLevels` records.

    Examples:
        >>> level_names([{"level": 2, "name": "District"}, {"level": 1, "name": "National"}])
        {1: 'National', 2: 'District'}
    """
    names = {int(lv["level"]): str(lv.get("name") or lv.get("displayName") or "") for lv in levels}
    return dict(sorted(names.items()))


def org_unit_columns(max_level: int) -> list[Column]:
    """The columns of a flat org unit table for a hierarchy `max_level` deep.

    Examples:
        >>> [c.name for c in org_unit_columns(2)][-4:]
        ['level_1_id', 'level_1_name', 'level_2_id', 'level_2_name']
    """
    columns = list(_BASE_COLUMNS)
    for level in range(1, max_level + 1):
        columns += [Column(f"level_{level}_id"), Column(f"level_{level}_name")]
    return columns


@functools.lru_cache(maxsize=32)
def org_unit_column_names(max_level: int) -> tuple[str, ...]:
    """The names of `org_unit_columns(max_level)`, in order (cached).

    Examples:
        >>> org_unit_column_names(1)[-2:]
        ('level_1_id', 'level_1_name')
    """
    return tuple(c.name for c in org_unit_columns(max_level))


def org_unit_values(
    unit: Mapping[str, Any], names: Mapping[str, str], max_level: int
) -> tuple[Any, ...]:
    """The cells of `flatten_org_unit`, as a tuple in `org_unit_columns(max_level)` order.

    This is what the export writes: no dict per row, one pass over the unit.

    Examples:
        >>> org_unit_values({"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1,
        ...                  "path": "/ImspTQPwCqd"}, {}, 1)[-2:]
        ('ImspTQPwCqd', 'Sierra Leone')
    """
    get = unit.get
    path_ids = [p for p in str(get("path") or "").split("/") if p]
    depth = len(path_ids)
    parent = get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict | Mapping) else None
    if parent_id is None and depth >= 2:
        parent_id = path_ids[-2]
    geometry = get("geometry")
    geometry_type = longitude = latitude = None
    if isinstance(geometry, dict | Mapping):
        geometry_type = geometry.get("type")
        if geometry_type == "Point":
            coordinates = geometry.get("coordinates")
            if isinstance(coordinates, list) and len(coordinates) >= 2:
                longitude, latitude = float(coordinates[0]), float(coordinates[1])
    own_id = get("id")
    own_name = get("name")
    opening = get("openingDate")
    closed = get("closedDate")
    cells: list[Any] = [
        own_id,
        own_name,
        get("shortName"),
        get("code"),
        get("level", depth or None),
        parent_id,
        depth,
        str(opening)[:10] if opening else None,
        str(closed)[:10] if closed else None,
        geometry_type,
        longitude,
        latitude,
    ]
    for ancestor in path_ids[:max_level]:
        cells.append(ancestor)
        cells.append(own_name if ancestor == own_id else names.get(ancestor))
    if depth < max_level:
        cells.extend((None, None) * (max_level - depth))
    return tuple(cells)


def flatten_org_unit(
    unit: Mapping[str, Any], names: Mapping[str, str], max_level: int
) -> dict[str, Any]:
    """One flat row for an org unit: its fields plus `level_N_id`/`level_N_name`
    for every ancestor level, derived from `path`.

    Args:
        unit: An org unit with at least `id` and `path` (see `ORG_UNIT_FIELDS`).
        names: Names of the ancestors by id (the unit's own name is taken from it).
        max_level: The deepest level, so every row has the same columns.

    Examples:
        >>> row = flatten_org_unit(
        ...     {"id": "DiszpKrYNg8", "name": "Ngelehun CHC", "level": 3,
        ...      "path": "/ImspTQPwCqd/O6uvpzGd5pu/DiszpKrYNg8",
        ...      "geometry": {"type": "Point", "coordinates": [-11.4, 8.0]}},
        ...     {"ImspTQPwCqd": "Sierra Leone", "O6uvpzGd5pu": "Bo"}, 3)
        >>> row["level_2_name"], row["parent_id"], row["path_depth"], row["longitude"]
        ('Bo', 'O6uvpzGd5pu', 3, -11.4)
    """
    cells = org_unit_values(unit, names, max_level)
    return dict(zip(org_unit_column_names(max_level), cells, strict=True))


def flatten_org_units_rows(
    units: Sequence[Mapping[str, Any]], levels: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Flatten a whole (in-memory) list of org units; see `flatten_org_unit`."""
    depth = max(level_names(levels) or {0: ""})
    depth = max(depth, *(len(str(u.get("path") or "").strip("/").split("/")) for u in units))
    names = {str(u["id"]): str(u.get("name") or "") for u in units if "id" in u}
    return [flatten_org_unit(u, names, depth) for u in units]


LEVEL_FIELDS = "id,name,level"
"""The fields of an `organisationUnitLevels` record."""


def org_unit_filters(level: int | None = None, root: str | None = None) -> list[str]:
    """The DHIS2 filters for one level and/or the subtree of one org unit.

    Checked before any request.

    Examples:
        >>> org_unit_filters(level=2, root="ImspTQPwCqd")
        ['level:eq:2', 'path:like:ImspTQPwCqd']

    Raises:
        ValueError: For a level below 1 or an invalid root UID.
    """
    filters: list[str] = []
    if level is not None:
        if level < 1:
            raise ValueError(f"level must be 1 or more, not {level}")
        filters.append(f"level:eq:{level}")
    if root is not None:
        filters.append(f"path:like:{validate_uid(root, 'org unit')}")
    return filters


async def afetch_org_unit_levels(client: AsyncDhis2Client) -> list[dict[str, Any]]:
    """Fetch `organisationUnitLevels` (id, name, level), ordered by level.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            names = level_names(await afetch_org_unit_levels(client))
        ```
    """
    levels = await client.fetch_metadata(
        "organisationUnitLevels", fields=LEVEL_FIELDS, paging=False
    )
    return sorted(levels, key=lambda lv: int(lv.get("level", 0)))


async def afetch_org_units(
    client: AsyncDhis2Client,
    fields: str = ORG_UNIT_FIELDS,
    filters: Sequence[str] | None = None,
    level: int | None = None,
    root: str | None = None,
) -> list[dict[str, Any]]:
    """Fetch org units (all pages, fetched concurrently).

    Args:
        client: A live async client.
        fields: DHIS2 `fields` selection.
        filters: Extra filters, e.g. `["openingDate:gt:2020-01-01"]`.
        level: Only this level.
        root: Only units at or below this org unit UID.

    Raises:
        ValueError: For a level below 1 or an invalid root UID, before any request.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            districts = await afetch_org_units(client, level=2)
        ```
    """
    all_filters = [*org_unit_filters(level, root), *(filters or ())]
    return await client.fetch_metadata("organisationUnits", fields=fields, filters=all_filters)
