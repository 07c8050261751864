"""Bundled flows for the metadata catalogue: the metadata export and metadata quality.

The connection check moved to `prefect_dhis2.flows.connection_flows` and the org unit
and geometry exports to `prefect_dhis2.flows.org_unit_flows`; their old names here
still work for one release, with a `DeprecationWarning`.
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from prefect_dhis2._deprecation import deprecated_names
from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.metadata import (
    DATA_ELEMENT_FIELDS,
    INDICATOR_FIELDS,
    MetadataQualityResult,
    check_metadata_quality,
    fetch_metadata,
    flatten_data_elements,
    flatten_indicators,
)
from prefect_dhis2.metadata.catalogue import DATA_ELEMENT_COLUMNS, INDICATOR_COLUMNS
from prefect_dhis2.metadata.report import (
    QUALITY_CHECK_COLUMNS,
    metadata_export_rows,
    quality_check_rows,
    quality_markdown,
)
from prefect_dhis2.org_units import OrgUnitExportResult, export_org_units
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, artifact_key
from prefect_dhis2.writers import resolve_output_dir, resolve_table_formats, write_table

__all__ = [
    "MetadataExportReport",
    "MetadataQualityReport",
    "dhis2_metadata_export",
    "dhis2_metadata_quality",
]


class MetadataExportReport(Dhis2FlowReport):
    """What `dhis2_metadata_export` wrote.

    Attributes:
        org_units_export: The org unit export it ran.
        data_elements: Data elements written.
        indicators: Indicators written.
    """

    org_units_export: OrgUnitExportResult
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

    Examples:
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
        org_units_export=ou_result,
        data_elements=len(de_rows),
        indicators=len(ind_rows),
        duration_s=watch.elapsed,
    )
    create_table_artifact(
        key=artifact_key("dhis2-metadata-export"),
        table=metadata_export_rows(ou_result.org_units, len(de_rows), len(ind_rows)),
        description=f"Metadata exported from {creds.base_url} to {directory}",
    )
    return report


class MetadataQualityReport(Dhis2FlowReport):
    """What `dhis2_metadata_quality` found.

    Attributes:
        result: Each check and the score.
    """

    result: MetadataQualityResult


@flow(name="dhis2-metadata-quality", log_prints=False)
def dhis2_metadata_quality(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    geometry_level: int | None = None,
) -> MetadataQualityReport:
    """Score metadata quality (codes, duplicates, orphans, geometry, broken indicators).

    Publishes a markdown report with the score (green/amber/red) and examples of
    every failing check, and writes `metadata_quality.csv`.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        geometry_level: Level whose units must have geometry (default: deepest).

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_metadata_quality
        print(dhis2_metadata_quality(instance="BLOCK_NAME").result.rating)
        ```
    """
    watch = Stopwatch()
    directory = resolve_output_dir(output_dir, "dhis2-quality")
    creds = resolve_credentials(credentials, instance)
    result = check_metadata_quality(creds, geometry_level=geometry_level)
    path = directory / "metadata_quality.csv"
    write_table(path, QUALITY_CHECK_COLUMNS, quality_check_rows(result))
    report = MetadataQualityReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files={"quality_csv": str(path)},
        result=result,
        duration_s=watch.elapsed,
    )
    create_markdown_artifact(
        key=artifact_key("dhis2-metadata-quality"),
        markdown=quality_markdown(result) + "\n\n" + report.provenance_markdown(),
        description=f"Metadata quality {result.score} ({result.rating})",
    )
    return report


__getattr__ = deprecated_names(
    __name__,
    {
        "ConnectionReport": "prefect_dhis2.flows.connection_flows",
        "dhis2_connection_check": "prefect_dhis2.flows.connection_flows",
        "GeometryExportReport": "prefect_dhis2.flows.org_unit_flows",
        "OrgUnitsExportReport": "prefect_dhis2.flows.org_unit_flows",
        "dhis2_geometry_export": "prefect_dhis2.flows.org_unit_flows",
        "dhis2_org_units_export": "prefect_dhis2.flows.org_unit_flows",
        "MetadataQualityFlowReport": "prefect_dhis2.flows.metadata_flows:MetadataQualityReport",
    },
)
