"""Bundled flows for the org unit tree: the flat table export and the geometry export."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.org_units import OrgUnitExportResult, export_org_units, fetch_org_unit_geometry
from prefect_dhis2.org_units.report import geometry_export_markdown, org_units_export_markdown
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, artifact_key, run_logger
from prefect_dhis2.writers import (
    Column,
    GeoJsonWriter,
    resolve_output_dir,
    resolve_table_formats,
    write_table,
)

__all__ = [
    "GeometryExportReport",
    "OrgUnitsExportReport",
    "dhis2_geometry_export",
    "dhis2_org_units_export",
]


class OrgUnitsExportReport(Dhis2FlowReport):
    """What `dhis2_org_units_export` wrote.

    Attributes:
        result: The export's counts, levels and files.
    """

    result: OrgUnitExportResult


@flow(name="dhis2-org-units-export", log_prints=False)
def dhis2_org_units_export(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    formats: list[str] | None = None,
    geojson: bool = True,
) -> OrgUnitsExportReport:
    """Export the org unit tree: one row per unit with a column pair per level.

    Writes `org_units.csv`, `org_units.parquet` (when pyarrow is installed) and
    `org_units.geojson`, streaming pages so memory stays flat on large trees.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        formats: Table formats (CSV is always written), default `["csv", "parquet"]`.
        geojson: Also write the units with geometry as GeoJSON.

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_org_units_export
        report = dhis2_org_units_export(instance="BLOCK_NAME", output_dir="exports")
        print(report.result.org_units, report.result.levels)
        ```
    """
    watch = Stopwatch()
    table_formats = resolve_table_formats(formats)
    directory = resolve_output_dir(output_dir, "dhis2-org-units")
    creds = resolve_credentials(credentials, instance)
    result = export_org_units(creds, str(directory), formats=table_formats, geojson=geojson)
    report = OrgUnitsExportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=result.files,
        result=result,
        duration_s=watch.elapsed,
    )
    create_markdown_artifact(
        key=artifact_key("dhis2-org-units-export"),
        markdown=org_units_export_markdown(creds.base_url, result)
        + "\n\n"
        + report.provenance_markdown(),
        description=f"{result.org_units:,} org units",
    )
    return report


class GeometryExportReport(Dhis2FlowReport):
    """What `dhis2_geometry_export` wrote.

    The features themselves are in the GeoJSON file, not in the report.

    Attributes:
        features: Features written.
        without_geometry: Units without geometry (listed in the CSV file).
        bbox: `[west, south, east, north]` of the features.
        geometry_types: Features per geometry type.
    """

    features: int
    without_geometry: int
    bbox: list[float] | None = None
    geometry_types: dict[str, int] = {}


@flow(name="dhis2-geometry-export", log_prints=False)
def dhis2_geometry_export(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    level: int | None = None,
    root: str | None = None,
) -> GeometryExportReport:
    """Export org unit geometry as a GeoJSON FeatureCollection (with `bbox`).

    Units without geometry are listed in `without_geometry.csv`, not dropped silently.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        level: Only this level (e.g. 2 for districts).
        root: Only units at or below this org unit UID.

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_geometry_export
        report = dhis2_geometry_export(instance="BLOCK_NAME", level=2)
        ```
    """
    watch = Stopwatch()
    directory = resolve_output_dir(output_dir, "dhis2-geometry")
    creds = resolve_credentials(credentials, instance)
    geometry = fetch_org_unit_geometry(creds, level=level, root=root)
    name = f"org_units_level_{level}" if level else "org_units"
    geo_path = directory / f"{name}.geojson"
    with GeoJsonWriter(geo_path) as writer:
        writer.write_features(geometry.features)
    missing_path = directory / f"{name}_without_geometry.csv"
    write_table(missing_path, [Column("id")], [{"id": i} for i in geometry.without_geometry])
    report = GeometryExportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files={"geojson": str(geo_path), "without_geometry": str(missing_path)},
        features=len(geometry.features),
        without_geometry=len(geometry.without_geometry),
        bbox=geometry.bbox,
        geometry_types=geometry.geometry_types,
        duration_s=watch.elapsed,
    )
    run_logger().info(
        "Wrote %d features to %s (%d units without geometry)",
        report.features,
        geo_path,
        report.without_geometry,
    )
    create_markdown_artifact(
        key=artifact_key("dhis2-geometry-export"),
        markdown=geometry_export_markdown(creds.base_url, geometry, missing_path.name)
        + "\n\n"
        + report.provenance_markdown(),
        description=f"{report.features:,} features",
    )
    return report
