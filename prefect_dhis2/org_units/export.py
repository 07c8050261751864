"""The streaming org unit export: flat tables and GeoJSON in constant memory.

Pure: no Prefect. `aexport_org_units` takes a live `AsyncDhis2Client` and writes
`org_units.<format>` (and `org_units.geojson`) through `prefect_dhis2.writers`,
page by page as the pages arrive; it returns an `OrgUnitExportResult`.

Examples:
    ```python
    async with credentials.get_async_client() as client:
        result = await aexport_org_units(client, Path("exports"), formats=["csv"])
    print(result.org_units, result.files)
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from prefect_dhis2.org_units.geometry import org_unit_feature
from prefect_dhis2.org_units.hierarchy import (
    ORG_UNIT_FIELDS,
    afetch_org_unit_levels,
    level_names,
    org_unit_columns,
    org_unit_filters,
    org_unit_values,
)
from prefect_dhis2.org_units.tables import ValuesWriter, open_values_writer
from prefect_dhis2.writers import GeoJsonWriter, abort_all, close_all

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = ["TABLE_FORMATS", "OrgUnitExportResult", "aexport_org_units", "check_table_formats"]

TABLE_FORMATS = ("csv", "parquet")
"""The table formats the export writes."""

_log = logging.getLogger(__name__)


class OrgUnitExportResult(BaseModel):
    """What an org unit export wrote.

    Attributes:
        org_units: How many units were written.
        levels: Level names by level number (one `level_N_id`/`level_N_name` pair each).
        with_geometry: Units written to the GeoJSON (those that have geometry).
        without_geometry: Units without geometry.
        files: Paths by label (`org_units_csv`, `org_units_parquet`, `org_units_geojson`).
    """

    org_units: int
    levels: dict[int, str]
    with_geometry: int
    without_geometry: int
    files: dict[str, str]


def check_table_formats(formats: Sequence[str]) -> list[str]:
    """Check the table formats before any request.

    Examples:
        >>> check_table_formats(["parquet", "csv"])
        ['parquet', 'csv']

    Raises:
        ValueError: For a format other than `csv` and `parquet`.
    """
    unknown = set(formats) - set(TABLE_FORMATS)
    if unknown:
        raise ValueError(f"Unknown table formats {sorted(unknown)}: use 'csv' and/or 'parquet'")
    return list(formats)


async def aexport_org_units(
    client: AsyncDhis2Client,
    output_dir: Path,
    formats: Sequence[str] = TABLE_FORMATS,
    geojson: bool = True,
    level: int | None = None,
    root: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
) -> OrgUnitExportResult:
    """Stream every org unit to flat tables (and GeoJSON) in constant memory.

    The levels and the ancestor names are read first; then the pages are fetched
    concurrently and written batch by batch as they arrive, each unit flattened once
    into a tuple of cells. The only thing held in memory is the names
    of the units that have children (needed for the `level_N_name` columns). Files are written under temporary
    names and renamed only when complete; on failure none is left behind.

    Args:
        client: A live async client.
        output_dir: Where to write `org_units.<format>` and `org_units.geojson`.
        formats: Any of `csv`, `parquet`.
        geojson: Also write `org_units.geojson` (features for units with geometry).
        level: Only this level.
        root: Only units at or below this org unit UID.
        logger: Where progress goes (default: this module's logger).

    Raises:
        ValueError: For an unknown format, a level below 1 or an invalid root UID,
            before any request.
    """
    table_formats = check_table_formats(formats)
    filters = org_unit_filters(level, root)
    log = logger or _log
    # The ancestor names (small: no leaves of the deepest level) are read before
    # the units. Read side by side, the units' pages run ahead of them (the host
    # budget serves requests in order), fill the look-ahead window and wait for
    # the names with the server idle.
    levels = level_names(await afetch_org_unit_levels(client))
    max_level = max(levels or {1: ""})
    names: dict[str, str] = {}
    async for page in client.iter_metadata(
        "organisationUnits", fields="id,name", filters=[f"level:lt:{max_level}"]
    ):
        names.update((str(u["id"]), str(u.get("name") or "")) for u in page)
    log.info("Loaded %d ancestor names", len(names))
    files = {f"org_units_{fmt}": str(output_dir / f"org_units.{fmt}") for fmt in table_formats}
    if geojson:
        files["org_units_geojson"] = str(output_dir / "org_units.geojson")
    writers: list[ValuesWriter] = []
    geo: GeoJsonWriter | None = None
    count = with_geometry = 0
    try:
        columns = org_unit_columns(max_level)
        for fmt in table_formats:
            writers.append(open_values_writer(output_dir / f"org_units.{fmt}", columns))
        geo = GeoJsonWriter(output_dir / "org_units.geojson") if geojson else None
        async for page in client.iter_metadata(
            "organisationUnits", fields=ORG_UNIT_FIELDS, filters=filters
        ):
            rows = [org_unit_values(u, names, max_level) for u in page]
            for writer in writers:
                writer.write_values(rows)
            features = [f for f in map(org_unit_feature, page) if f is not None]
            if geo is not None:
                geo.write_features(features)
            count += len(rows)
            with_geometry += len(features)
    except BaseException:
        abort_all([*writers, geo])
        raise
    close_all([*writers, geo])  # one failing close aborts the others
    log.info("Wrote %d org units (%d with geometry)", count, with_geometry)
    return OrgUnitExportResult(
        org_units=count,
        levels=levels,
        with_geometry=with_geometry,
        without_geometry=count - with_geometry,
        files=files,
    )
