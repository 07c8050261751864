"""Organisation units: the hierarchy, flat tables with one column pair per level,
and geometry as GeoJSON.

Pure functions (`flatten_org_unit`, `org_unit_feature`, ...) do the transforms;
the tasks fetch from DHIS2 through the credentials block and stream large trees
page by page, so memory does not grow with the number of units.

Example:
    ```python
    from prefect import flow
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.org_units import fetch_org_unit_levels, fetch_org_units, flatten_org_units

    @flow
    def district_table():
        credentials = Dhis2Credentials.load("BLOCK_NAME")
        levels = fetch_org_unit_levels(credentials)
        units = fetch_org_units(credentials, filters=["level:le:2"])
        return flatten_org_units(units, levels)
    ```
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prefect import task
from pydantic import BaseModel, Field

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.runtime import retry_transient_failures, run_logger, run_sync
from prefect_dhis2.uids import validate_uid
from prefect_dhis2.writers import (
    Column,
    GeoJsonWriter,
    TableWriter,
    extend_bbox,
    open_table_writer,
)

__all__ = [
    "ORG_UNIT_FIELDS",
    "OrgUnitExportResult",
    "OrgUnitGeometry",
    "export_org_units",
    "fetch_org_unit_geometry",
    "fetch_org_unit_levels",
    "fetch_org_units",
    "flatten_org_unit",
    "flatten_org_units",
    "flatten_org_units_rows",
    "level_names",
    "org_unit_columns",
    "org_unit_feature",
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

    Example:
        >>> level_names([{"level": 2, "name": "District"}, {"level": 1, "name": "National"}])
        {1: 'National', 2: 'District'}
    """
    names = {int(lv["level"]): str(lv.get("name") or lv.get("displayName") or "") for lv in levels}
    return dict(sorted(names.items()))


def org_unit_columns(max_level: int) -> list[Column]:
    """The columns of a flat org unit table for a hierarchy `max_level` deep.

    Example:
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

    Example:
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


def org_unit_feature(unit: Mapping[str, Any]) -> dict[str, Any] | None:
    """A GeoJSON Feature for an org unit, or None when it has no geometry.

    Example:
        >>> org_unit_feature({"id": "a", "name": "A", "level": 4,
        ...     "geometry": {"type": "Point", "coordinates": [-11.7, 8.1]}})["geometry"]["type"]
        'Point'
        >>> org_unit_feature({"id": "b"}) is None
        True
    """
    geometry = unit.get("geometry")
    if not isinstance(geometry, Mapping) or not geometry.get("type"):
        return None
    if geometry.get("coordinates") in (None, []):
        return None
    parent = unit.get("parent")
    return {
        "type": "Feature",
        "id": unit.get("id"),
        "geometry": dict(geometry),
        "properties": {
            "id": unit.get("id"),
            "name": unit.get("name"),
            "code": unit.get("code"),
            "level": unit.get("level"),
            "parent_id": parent.get("id") if isinstance(parent, Mapping) else None,
        },
    }


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------


def _level_filters(level: int | None, root: str | None) -> list[str]:
    filters: list[str] = []
    if level is not None:
        if level < 1:
            raise ValueError(f"level must be 1 or more, not {level}")
        filters.append(f"level:eq:{level}")
    if root is not None:
        filters.append(f"path:like:{validate_uid(root, 'org unit')}")
    return filters


@task(
    name="Fetch DHIS2 org unit levels",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_org_unit_levels(credentials: Dhis2Credentials) -> list[dict[str, Any]]:
    """Fetch `organisationUnitLevels` (id, name, level), ordered by level.

    Example:
        ```python
        levels = fetch_org_unit_levels(Dhis2Credentials.load("BLOCK_NAME"))
        ```
    """
    with credentials.get_client() as client:
        levels = client.fetch_metadata(
            "organisationUnitLevels", fields="id,name,level", paging=False
        )
    return sorted(levels, key=lambda lv: int(lv.get("level", 0)))


@task(
    name="Fetch DHIS2 org units",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_org_units(
    credentials: Dhis2Credentials,
    fields: str = ORG_UNIT_FIELDS,
    filters: Sequence[str] | None = None,
    level: int | None = None,
    root: str | None = None,
) -> list[dict[str, Any]]:
    """Fetch org units (all pages, fetched concurrently).

    Args:
        credentials: The DHIS2 instance.
        fields: DHIS2 `fields` selection.
        filters: Extra filters, e.g. `["openingDate:gt:2020-01-01"]`.
        level: Only this level.
        root: Only units at or below this org unit UID.

    Returns:
        The org units as dicts.
    """
    all_filters = [*_level_filters(level, root), *(filters or ())]

    async def fetch() -> list[dict[str, Any]]:
        async with credentials.get_async_client() as client:
            return await client.fetch_metadata(
                "organisationUnits", fields=fields, filters=all_filters
            )

    return run_sync(fetch())


@task(name="Flatten DHIS2 org units")
def flatten_org_units(
    org_units: Sequence[Mapping[str, Any]], levels: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per unit with `level_N_id`/`level_N_name` columns; see `flatten_org_unit`.

    Ancestor names come from `org_units` itself, so pass the whole tree (or at
    least every ancestor) for complete level columns.
    """
    return flatten_org_units_rows(org_units, levels)


class OrgUnitGeometry(BaseModel):
    """A GeoJSON FeatureCollection of org units plus the units that have none.

    Attributes:
        feature_collection: `{"type": "FeatureCollection", "bbox": [...], "features": [...]}`.
        without_geometry: Ids of the units that have no geometry (reported, not dropped silently).
    """

    feature_collection: dict[str, Any]
    without_geometry: list[str] = Field(default_factory=list)


@task(
    name="Fetch DHIS2 org unit geometry",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_org_unit_geometry(
    credentials: Dhis2Credentials, level: int | None = None, root: str | None = None
) -> OrgUnitGeometry:
    """Fetch org unit geometry as a GeoJSON FeatureCollection with a `bbox`.

    Points, Polygons and MultiPolygons are kept as DHIS2 stores them (lon/lat).

    Args:
        credentials: The DHIS2 instance.
        level: Only this level (e.g. 2 for districts).
        root: Only units at or below this org unit UID.
    """
    units = fetch_org_units.fn(
        credentials, fields="id,name,code,level,parent[id],geometry", level=level, root=root
    )
    features: list[dict[str, Any]] = []
    missing: list[str] = []
    for unit in units:
        feature = org_unit_feature(unit)
        if feature is None:
            missing.append(str(unit.get("id")))
        else:
            features.append(feature)
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    box = [math.inf, math.inf, -math.inf, -math.inf]
    for feature in features:
        extend_bbox(box, feature["geometry"]["coordinates"])
    if math.isfinite(box[0]):
        collection["bbox"] = box
    return OrgUnitGeometry(feature_collection=collection, without_geometry=missing)


class OrgUnitExportResult(BaseModel):
    """What `export_org_units` wrote."""

    org_units: int
    levels: dict[int, str]
    with_geometry: int
    without_geometry: int
    files: dict[str, str]


@task(
    name="Export DHIS2 org units",
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=retry_transient_failures,
)
def export_org_units(
    credentials: Dhis2Credentials,
    output_dir: str,
    formats: Sequence[str] = ("csv", "parquet"),
    geojson: bool = True,
    level: int | None = None,
    root: str | None = None,
) -> OrgUnitExportResult:
    """Stream every org unit to flat tables (and GeoJSON) in constant memory.

    Pages are fetched concurrently and written batch by batch as they arrive;
    the only thing held in memory is the names of the units that have children
    (needed for the `level_N_name` columns). Files are written under temporary
    names and renamed only when complete.

    Args:
        credentials: The DHIS2 instance.
        output_dir: Where to write `org_units.<format>` and `org_units.geojson`.
        formats: Any of `csv`, `parquet`.
        geojson: Also write `org_units.geojson` (features for units with geometry).
        level: Only this level.
        root: Only units at or below this org unit UID.

    Returns:
        Counts and file paths.
    """
    unknown = set(formats) - {"csv", "parquet"}
    if unknown:
        raise ValueError(f"Unknown table formats {sorted(unknown)}: use 'csv' and/or 'parquet'")
    filters = _level_filters(level, root)
    logger = run_logger()
    return run_sync(
        _export_org_units(credentials, Path(output_dir), list(formats), geojson, filters, logger)
    )


async def _export_org_units(
    credentials: Dhis2Credentials,
    directory: Path,
    formats: list[str],
    geojson: bool,
    filters: list[str],
    logger: Any,
) -> OrgUnitExportResult:
    async with credentials.get_async_client() as client:
        levels = await client.fetch_metadata(
            "organisationUnitLevels", fields="id,name,level", paging=False
        )
        names_by_level = level_names(levels)
        max_level = max(names_by_level or {1: ""})
        # Pass 1: names of every unit that can be an ancestor (small: no leaves
        # of the deepest level). It runs while pass 2's first pages are fetched;
        # rows are flattened only once the names are complete.
        names: dict[str, str] = {}

        async def load_names() -> None:
            async for page in client.iter_metadata(
                "organisationUnits", fields="id,name", filters=[f"level:lt:{max_level}"]
            ):
                names.update((str(u["id"]), str(u.get("name") or "")) for u in page)
            logger.info("Loaded %d ancestor names", len(names))

        names_loaded = asyncio.ensure_future(load_names())
        columns = org_unit_columns(max_level)
        files = {f"org_units_{fmt}": str(directory / f"org_units.{fmt}") for fmt in formats}
        writers: list[TableWriter] = [
            open_table_writer(directory / f"org_units.{fmt}", columns) for fmt in formats
        ]
        geo = GeoJsonWriter(directory / "org_units.geojson") if geojson else None
        if geo is not None:
            files["org_units_geojson"] = str(geo.path)
        count = with_geometry = 0
        try:
            async for page in client.iter_metadata(
                "organisationUnits", fields=ORG_UNIT_FIELDS, filters=filters
            ):
                if not names_loaded.done():
                    await names_loaded
                rows = [flatten_org_unit(u, names, max_level) for u in page]
                for writer in writers:
                    writer.write_batch(rows)
                features = [f for f in map(org_unit_feature, page) if f is not None]
                if geo is not None:
                    geo.write_features(features)
                count += len(rows)
                with_geometry += len(features)
            await names_loaded  # an empty selection still surfaces pass 1 errors
        except BaseException:
            names_loaded.cancel()
            for writer in writers:
                writer.abort()
            if geo is not None:
                geo.abort()
            raise
        for writer in writers:
            writer.close()
        if geo is not None:
            geo.close()
    logger.info("Wrote %d org units (%d with geometry)", count, with_geometry)
    return OrgUnitExportResult(
        org_units=count,
        levels=names_by_level,
        with_geometry=with_geometry,
        without_geometry=count - with_geometry,
        files=files,
    )
