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
    "org_unit_columns",
    "org_unit_filters",
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


def _date(value: Any) -> str | None:
    return str(value)[:10] if value else None


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
    path_ids = [p for p in str(unit.get("path") or "").split("/") if p]
    parent = unit.get("parent")
    parent_id = parent.get("id") if isinstance(parent, Mapping) else None
    if parent_id is None and len(path_ids) >= 2:
        parent_id = path_ids[-2]
    geometry = unit.get("geometry")
    geometry_type = geometry.get("type") if isinstance(geometry, Mapping) else None
    longitude = latitude = None
    if geometry_type == "Point":
        coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            longitude, latitude = float(coordinates[0]), float(coordinates[1])
    row: dict[str, Any] = {
        "id": unit.get("id"),
        "name": unit.get("name"),
        "short_name": unit.get("shortName"),
        "code": unit.get("code"),
        "level": unit.get("level", len(path_ids) or None),
        "parent_id": parent_id,
        "path_depth": len(path_ids),
        "opening_date": _date(unit.get("openingDate")),
        "closed_date": _date(unit.get("closedDate")),
        "geometry_type": geometry_type,
        "longitude": longitude,
        "latitude": latitude,
    }
    own_id = unit.get("id")
    for level in range(1, max_level + 1):
        ancestor = path_ids[level - 1] if level <= len(path_ids) else None
        row[f"level_{level}_id"] = ancestor
        if ancestor is None:
            row[f"level_{level}_name"] = None
        elif ancestor == own_id:
            row[f"level_{level}_name"] = unit.get("name")
        else:
            row[f"level_{level}_name"] = names.get(ancestor)
    return row


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
