"""Bundled flows for the everyday metadata jobs: connection check, org unit,
metadata and geometry exports, and metadata quality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.markdown import markdown_table
from prefect_dhis2.metadata import (
    DATA_ELEMENT_COLUMNS,
    DATA_ELEMENT_FIELDS,
    INDICATOR_COLUMNS,
    INDICATOR_FIELDS,
    QualityReport,
    check_metadata_quality,
    fetch_metadata,
    flatten_data_elements,
    flatten_indicators,
)
from prefect_dhis2.org_units import (
    OrgUnitExportResult,
    export_org_units,
    fetch_org_unit_geometry,
)
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, run_logger
from prefect_dhis2.writers import (
    Column,
    GeoJsonWriter,
    resolve_output_dir,
    resolve_table_formats,
    write_table,
)

__all__ = [
    "ConnectionReport",
    "GeometryExportReport",
    "MetadataExportReport",
    "MetadataQualityFlowReport",
    "OrgUnitsExportReport",
    "dhis2_connection_check",
    "dhis2_geometry_export",
    "dhis2_metadata_export",
    "dhis2_metadata_quality",
    "dhis2_org_units_export",
]

_COUNTED = ("organisationUnits", "dataElements", "indicators", "dataSets")


class ConnectionReport(Dhis2FlowReport):
    """What `dhis2_connection_check` found."""

    version: str
    revision: str | None = None
    system_name: str | None = None
    last_analytics_table_success: str | None = None
    username: str | None = None
    superuser: bool = False
    counts: dict[str, int] = {}


@flow(name="dhis2-connection-check", log_prints=False)
def dhis2_connection_check(
    credentials: Dhis2Credentials | None = None, instance: str = "dhis2"
) -> ConnectionReport:
    """Check that a DHIS2 instance answers and the credentials work.

    Reads the server info and the user, counts org units, data elements,
    indicators and data sets, and publishes a markdown summary.

    Args:
        credentials: The instance to check (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_connection_check
        report = dhis2_connection_check(instance="BLOCK_NAME")
        print(report.version, report.counts)
        ```
    """
    watch = Stopwatch()
    creds = resolve_credentials(credentials, instance)
    logger = run_logger()
    with creds.get_client() as client:
        info = client.get_server_info()
        me = client.get_me(fields="id,username,authorities")
        counts: dict[str, int] = {}
        for kind in _COUNTED:
            page = client.get(kind, {"fields": "id", "pageSize": 1})
            counts[kind] = int(page.get("pager", {}).get("total", 0))
    report = ConnectionReport(
        instance=creds.base_url,
        version=str(info.version),
        revision=info.revision,
        system_name=info.system_name,
        last_analytics_table_success=info.last_analytics_table_success,
        username=me.username,
        superuser=me.is_superuser,
        counts=counts,
        duration_s=watch.elapsed,
    )
    logger.info("Connected to %s (DHIS2 %s) as %s", creds.base_url, report.version, me.username)
    rows = [
        ["Instance", creds.base_url],
        ["DHIS2 version", f"{report.version} ({report.revision or 'unknown revision'})"],
        ["System name", report.system_name or ""],
        ["Analytics tables last built", report.last_analytics_table_success or "never"],
        ["User", f"{me.username} ({'superuser' if me.is_superuser else 'regular user'})"],
    ] + [[f"{kind} count", f"{n:,}"] for kind, n in counts.items()]
    create_markdown_artifact(
        key="dhis2-connection-check",
        markdown="# DHIS2 connection check\n\n" + markdown_table(["", ""], rows),
        description=f"DHIS2 {report.version} at {creds.base_url}",
    )
    return report


class OrgUnitsExportReport(Dhis2FlowReport):
    """What `dhis2_org_units_export` wrote."""

    org_units: int
    levels: dict[int, str]
    with_geometry: int
    without_geometry: int


def _levels_markdown(result: OrgUnitExportResult) -> str:
    return markdown_table(
        ["Level", "Name", "Columns"],
        [[lv, name, f"level_{lv}_id, level_{lv}_name"] for lv, name in result.levels.items()],
    )


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

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_org_units_export
        report = dhis2_org_units_export(instance="BLOCK_NAME", output_dir="exports")
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
        org_units=result.org_units,
        levels=result.levels,
        with_geometry=result.with_geometry,
        without_geometry=result.without_geometry,
        duration_s=watch.elapsed,
    )
    create_markdown_artifact(
        key="dhis2-org-units-export",
        markdown=(
            f"# Org units exported from {creds.base_url}\n\n"
            f"**{report.org_units:,}** org units; {report.with_geometry:,} with geometry, "
            f"{report.without_geometry:,} without.\n\n"
            + _levels_markdown(result)
            + "\n\n"
            + markdown_table(["File", "Path"], [[k, v] for k, v in report.files.items()])
        ),
        description=f"{report.org_units:,} org units",
    )
    return report


class MetadataExportReport(Dhis2FlowReport):
    """What `dhis2_metadata_export` wrote."""

    org_units: int
    data_elements: int
    indicators: int


@flow(name="dhis2-metadata-export", log_prints=False)
def dhis2_metadata_export(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    formats: list[str] | None = None,
) -> MetadataExportReport:
    """Export org units, data elements and indicators in parallel to flat tables.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        formats: Table formats (CSV is always written), default `["csv", "parquet"]`.

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_metadata_export
        report = dhis2_metadata_export(instance="BLOCK_NAME")
        ```
    """
    watch = Stopwatch()
    table_formats = resolve_table_formats(formats)
    directory = resolve_output_dir(output_dir, "dhis2-metadata")
    creds = resolve_credentials(credentials, instance)
    org_units = export_org_units.submit(creds, str(directory), formats=table_formats)
    data_elements = fetch_metadata.submit(creds, "dataElements", fields=DATA_ELEMENT_FIELDS)
    indicators = fetch_metadata.submit(creds, "indicators", fields=INDICATOR_FIELDS)
    files: dict[str, str] = {}
    de_rows = flatten_data_elements(data_elements.result())
    ind_rows = flatten_indicators(indicators.result())
    for name, columns, rows in (
        ("data_elements", DATA_ELEMENT_COLUMNS, de_rows),
        ("indicators", INDICATOR_COLUMNS, ind_rows),
    ):
        for fmt in table_formats:
            path = directory / f"{name}.{fmt}"
            write_table(path, columns, rows)
            files[f"{name}_{fmt}"] = str(path)
    ou_result = org_units.result()
    files.update(ou_result.files)
    report = MetadataExportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=files,
        org_units=ou_result.org_units,
        data_elements=len(de_rows),
        indicators=len(ind_rows),
        duration_s=watch.elapsed,
    )
    create_table_artifact(
        key="dhis2-metadata-export",
        table=[
            {"metadata": "org units", "records": report.org_units},
            {"metadata": "data elements", "records": report.data_elements},
            {"metadata": "indicators", "records": report.indicators},
        ],
        description=f"Metadata exported from {creds.base_url} to {directory}",
    )
    return report


class GeometryExportReport(Dhis2FlowReport):
    """What `dhis2_geometry_export` wrote."""

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

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_geometry_export
        report = dhis2_geometry_export(instance="BLOCK_NAME", level=2)
        ```
    """
    watch = Stopwatch()
    directory = resolve_output_dir(output_dir, "dhis2-geometry")
    creds = resolve_credentials(credentials, instance)
    geometry = fetch_org_unit_geometry(creds, level=level, root=root)
    collection = geometry.feature_collection
    features: list[dict[str, Any]] = collection["features"]
    name = f"org_units_level_{level}" if level else "org_units"
    geo_path = directory / f"{name}.geojson"
    with GeoJsonWriter(geo_path) as writer:
        writer.write_features(features)
    missing_path = directory / f"{name}_without_geometry.csv"
    write_table(missing_path, [Column("id")], [{"id": i} for i in geometry.without_geometry])
    types: dict[str, int] = {}
    for feature in features:
        kind = feature["geometry"]["type"]
        types[kind] = types.get(kind, 0) + 1
    report = GeometryExportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files={"geojson": str(geo_path), "without_geometry": str(missing_path)},
        features=len(features),
        without_geometry=len(geometry.without_geometry),
        bbox=collection.get("bbox"),
        geometry_types=types,
        duration_s=watch.elapsed,
    )
    run_logger().info(
        "Wrote %d features to %s (%d units without geometry)",
        report.features,
        geo_path,
        report.without_geometry,
    )
    create_markdown_artifact(
        key="dhis2-geometry-export",
        markdown=(
            f"# Org unit geometry from {creds.base_url}\n\n"
            + markdown_table(
                ["Geometry type", "Features"], [[k, v] for k, v in sorted(types.items())]
            )
            + f"\n\n{report.without_geometry:,} units have no geometry "
            f"(listed in `{Path(missing_path).name}`).\n\nBounding box: {report.bbox}"
        ),
        description=f"{report.features:,} features",
    )
    return report


class MetadataQualityFlowReport(Dhis2FlowReport):
    """What `dhis2_metadata_quality` found."""

    quality: QualityReport


@flow(name="dhis2-metadata-quality", log_prints=False)
def dhis2_metadata_quality(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    geometry_level: int | None = None,
) -> MetadataQualityFlowReport:
    """Score metadata quality (codes, duplicates, orphans, geometry, broken indicators).

    Publishes a markdown report with the score (green/amber/red) and examples of
    every failing check, and writes `metadata_quality.csv`.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        geometry_level: Level whose units must have geometry (default: deepest).

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_metadata_quality
        print(dhis2_metadata_quality(instance="BLOCK_NAME").quality.rating)
        ```
    """
    watch = Stopwatch()
    directory = resolve_output_dir(output_dir, "dhis2-quality")
    creds = resolve_credentials(credentials, instance)
    quality = check_metadata_quality(creds, geometry_level=geometry_level)
    path = directory / "metadata_quality.csv"
    write_table(
        path,
        [Column("check"), Column("checked", "int"), Column("failed", "int"), Column("examples")],
        [
            {
                "check": c.name,
                "checked": c.checked,
                "failed": c.failed,
                "examples": "; ".join(f"{e['id']} ({e['detail']})" for e in c.examples),
            }
            for c in quality.checks
        ],
    )
    badge = {"green": "🟢", "amber": "🟠", "red": "🔴"}[quality.rating]
    details = "\n".join(
        f"\n### {c.name}\n\n"
        + markdown_table(["Object", "Detail"], [[e["id"], e["detail"]] for e in c.examples])
        for c in quality.checks
        if c.failed
    )
    create_markdown_artifact(
        key="dhis2-metadata-quality",
        markdown=(
            f"# Metadata quality: {badge} {quality.score} / 100 ({quality.rating})\n\n"
            + markdown_table(
                ["Check", "Checked", "Failed", "Pass rate"],
                [
                    [c.name, c.checked, c.failed, f"{100 * c.pass_rate:.1f}%"]
                    for c in quality.checks
                ],
            )
            + "\n\n## Examples\n"
            + (details or "\nNo problems found.")
        ),
        description=f"Metadata quality {quality.score} ({quality.rating})",
    )
    return MetadataQualityFlowReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files={"quality_csv": str(path)},
        quality=quality,
        duration_s=watch.elapsed,
    )
