"""Org unit geometry: GeoJSON features and the geometry extract of a selection.

Pure: no Prefect. `org_unit_feature` turns one unit into a GeoJSON Feature;
`geometry_extract` collects the features of many units into a FeatureCollection with
a `bbox` and lists the units that have none; `afetch_org_unit_geometry` reads them
with a live `AsyncDhis2Client`. Points, Polygons and MultiPolygons are kept as DHIS2
stores them (lon/lat, as GeoJSON wants).

Examples:
    >>> extract = geometry_extract([
    ...     {"id": "DiszpKrYNg8", "geometry": {"type": "Point", "coordinates": [-11.4, 8.0]}},
    ...     {"id": "jUb8gELQApl"}])
    >>> extract.feature_collection["bbox"], extract.without_geometry, extract.geometry_types
    ([-11.4, 8.0, -11.4, 8.0], ['jUb8gELQApl'], {'Point': 1})
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from prefect_dhis2.org_units.hierarchy import afetch_org_units
from prefect_dhis2.writers import extend_bbox

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "GEOMETRY_FIELDS",
    "OrgUnitGeometryExtract",
    "afetch_org_unit_geometry",
    "geometry_extract",
    "org_unit_feature",
]

GEOMETRY_FIELDS = "id,name,code,level,parent[id],geometry"
"""The fields a GeoJSON feature of an org unit needs."""


def org_unit_feature(unit: Mapping[str, Any]) -> dict[str, Any] | None:
    """A GeoJSON Feature for an org unit, or None when it has no geometry.

    Examples:
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


class OrgUnitGeometryExtract(BaseModel):
    """A GeoJSON FeatureCollection of org units plus the units that have none.

    Attributes:
        feature_collection: `{"type": "FeatureCollection", "bbox": [...], "features": [...]}`.
        without_geometry: Ids of the units that have no geometry (reported, not dropped silently).
    """

    feature_collection: dict[str, Any]
    without_geometry: list[str] = Field(default_factory=list)

    @property
    def features(self) -> list[dict[str, Any]]:
        """The GeoJSON features."""
        features: list[dict[str, Any]] = self.feature_collection["features"]
        return features

    @property
    def bbox(self) -> list[float] | None:
        """`[west, south, east, north]`, or None when there are no coordinates."""
        bbox: list[float] | None = self.feature_collection.get("bbox")
        return bbox

    def to_arrow(self) -> Any:
        """The features as an Arrow table: `id` and the feature's properties as
        columns, `geometry_type`, and `geometry` as GeoJSON text (needs pyarrow).

        Examples:
            >>> extract = OrgUnitGeometryExtract(feature_collection={"type": "FeatureCollection",
            ...     "features": [{"type": "Feature", "id": "ImspTQPwCqd",
            ...                   "geometry": {"type": "Point", "coordinates": [-11.8, 8.5]},
            ...                   "properties": {"name": "Sierra Leone", "level": 1}}]})
            >>> extract.to_arrow().column("geometry_type").to_pylist()
            ['Point']
        """
        import pyarrow as pa

        features = self.features
        props = list(dict.fromkeys(k for f in features for k in f.get("properties") or {}))
        columns: dict[str, Any] = {"id": pa.array([f.get("id") for f in features], pa.string())}
        for name in props:
            columns[name] = pa.array([(f.get("properties") or {}).get(name) for f in features])
        columns["geometry_type"] = pa.array(
            [str(f["geometry"]["type"]) for f in features], pa.string()
        )
        columns["geometry"] = pa.array(
            [json.dumps(f["geometry"], separators=(",", ":")) for f in features], pa.string()
        )
        return pa.table(columns)

    def to_pandas(self) -> Any:
        """The features as a pandas DataFrame (needs pandas)."""
        from prefect_dhis2.frames import arrow_to_pandas

        return arrow_to_pandas(self.to_arrow())

    def to_polars(self) -> Any:
        """The features as a polars DataFrame (needs polars)."""
        from prefect_dhis2.frames import arrow_to_polars

        return arrow_to_polars(self.to_arrow())

    @property
    def geometry_types(self) -> dict[str, int]:
        """How many features of each geometry type (`Point`, `Polygon`, ...)."""
        return dict(Counter(str(f["geometry"]["type"]) for f in self.features))


def geometry_extract(units: Iterable[Mapping[str, Any]]) -> OrgUnitGeometryExtract:
    """The FeatureCollection (with `bbox`) of the units that have geometry, and the
    ids of those that have none."""
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
    return OrgUnitGeometryExtract(feature_collection=collection, without_geometry=missing)


async def afetch_org_unit_geometry(
    client: AsyncDhis2Client, level: int | None = None, root: str | None = None
) -> OrgUnitGeometryExtract:
    """Fetch org unit geometry as a GeoJSON FeatureCollection with a `bbox`.

    The selection is checked as `afetch_org_units` checks it, before any request.

    Args:
        client: A live async client.
        level: Only this level (e.g. 2 for districts).
        root: Only units at or below this org unit UID.

    Examples:
        ```python
        bo = await afetch_org_unit_geometry(client, root="O6uvpzGd5pu")
        print(bo.geometry_types, bo.without_geometry)
        ```
    """
    units = await afetch_org_units(client, fields=GEOMETRY_FIELDS, level=level, root=root)
    return geometry_extract(units)
