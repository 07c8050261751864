"""Prefect tasks for org units: thin wrappers over the engine that take the credentials block.

Each task opens a client from `Dhis2Credentials` and calls the engine
(`hierarchy`, `geometry`, `export`), with retries for what a retry can fix and
progress in the run logger.

See `prefect_dhis2.org_units` for an example flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prefect import task

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.org_units.export import TABLE_FORMATS, OrgUnitExportResult, aexport_org_units
from prefect_dhis2.org_units.geometry import OrgUnitGeometryExtract, afetch_org_unit_geometry
from prefect_dhis2.org_units.hierarchy import (
    ORG_UNIT_FIELDS,
    afetch_org_unit_levels,
    afetch_org_units,
    flatten_org_units_rows,
)
from prefect_dhis2.runtime import retry_transient_failures, run_engine, run_logger

__all__ = [
    "export_org_units",
    "fetch_org_unit_geometry",
    "fetch_org_unit_levels",
    "fetch_org_units",
    "flatten_org_units",
]


@task(
    name="Fetch DHIS2 org unit levels",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_org_unit_levels(credentials: Dhis2Credentials) -> list[dict[str, Any]]:
    """Fetch `organisationUnitLevels` (id, name, level), ordered by level.

    Examples:
        ```python
        levels = fetch_org_unit_levels(Dhis2Credentials.load("BLOCK_NAME"))
        ```
    """
    return run_engine(credentials, afetch_org_unit_levels)


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
    """Fetch org units (all pages, fetched concurrently), as dicts.

    Runs `prefect_dhis2.org_units.hierarchy.afetch_org_units`, which describes the
    selection (`fields`, extra `filters`, one `level`, the subtree of `root`).

    Examples:
        ```python
        districts = fetch_org_units(Dhis2Credentials.load("BLOCK_NAME"), level=2)
        ```
    """
    return run_engine(credentials, afetch_org_units, fields, filters, level=level, root=root)


@task(name="Flatten DHIS2 org units")
def flatten_org_units(
    org_units: Sequence[Mapping[str, Any]], levels: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per unit with `level_N_id`/`level_N_name` columns; see `flatten_org_unit`.

    Ancestor names come from `org_units` itself, so pass the whole tree (or at
    least every ancestor) for complete level columns.
    """
    return flatten_org_units_rows(org_units, levels)


@task(
    name="Fetch DHIS2 org unit geometry",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_org_unit_geometry(
    credentials: Dhis2Credentials, level: int | None = None, root: str | None = None
) -> OrgUnitGeometryExtract:
    """Fetch org unit geometry as a GeoJSON FeatureCollection with a `bbox`.

    Points, Polygons and MultiPolygons are kept as DHIS2 stores them (lon/lat).
    Runs `prefect_dhis2.org_units.geometry.afetch_org_unit_geometry`: `level` (e.g.
    2 for districts) and `root` (a subtree) narrow the selection.
    """
    return run_engine(credentials, afetch_org_unit_geometry, level=level, root=root)


@task(
    name="Export DHIS2 org units",
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=retry_transient_failures,
)
def export_org_units(
    credentials: Dhis2Credentials,
    output_dir: str,
    formats: Sequence[str] = TABLE_FORMATS,
    geojson: bool = True,
    level: int | None = None,
    root: str | None = None,
) -> OrgUnitExportResult:
    """Stream every org unit to `output_dir` as `org_units.<format>` (and GeoJSON).

    Runs `prefect_dhis2.org_units.export.aexport_org_units` (constant memory, files
    renamed into place only when complete), with progress in the run logger.

    Returns:
        Counts and file paths.
    """
    return run_engine(
        credentials,
        aexport_org_units,
        Path(output_dir),
        formats,
        geojson,
        level,
        root,
        logger=run_logger(),
    )
