"""What a programme manager reads about an org unit export: markdown for the artifacts.

Pure: no Prefect.

Examples:
    >>> from prefect_dhis2.org_units.export import OrgUnitExportResult
    >>> result = OrgUnitExportResult(org_units=2, levels={1: "National", 2: "District"},
    ...     with_geometry=1, without_geometry=1, files={})
    >>> print(levels_markdown(result).splitlines()[-1])
    | 2 | District | level_2_id, level_2_name |
"""

from __future__ import annotations

from prefect_dhis2.markdown import markdown_table
from prefect_dhis2.org_units.export import OrgUnitExportResult
from prefect_dhis2.org_units.geometry import OrgUnitGeometryExtract

__all__ = ["geometry_export_markdown", "levels_markdown", "org_units_export_markdown"]


def levels_markdown(result: OrgUnitExportResult) -> str:
    """A table of the levels and the column pair each one gets."""
    return markdown_table(
        ["Level", "Name", "Columns"],
        [[lv, name, f"level_{lv}_id, level_{lv}_name"] for lv, name in result.levels.items()],
    )


def org_units_export_markdown(base_url: str, result: OrgUnitExportResult) -> str:
    """The org unit export: counts, levels and files."""
    return (
        f"# Org units exported from {base_url}\n\n"
        f"**{result.org_units:,}** org units; {result.with_geometry:,} with geometry, "
        f"{result.without_geometry:,} without.\n\n"
        + levels_markdown(result)
        + "\n\n"
        + markdown_table(["File", "Path"], [[k, v] for k, v in result.files.items()])
    )


def geometry_export_markdown(
    base_url: str, extract: OrgUnitGeometryExtract, without_geometry_file: str
) -> str:
    """The geometry export: features per geometry type, units without, the bounding box."""
    types = extract.geometry_types
    return (
        f"# Org unit geometry from {base_url}\n\n"
        + markdown_table(["Geometry type", "Features"], [[k, v] for k, v in sorted(types.items())])
        + f"\n\n{len(extract.without_geometry):,} units have no geometry "
        f"(listed in `{without_geometry_file}`).\n\nBounding box: {extract.bbox}"
    )
