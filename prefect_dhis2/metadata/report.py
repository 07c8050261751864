"""What a programme manager reads about metadata: markdown and table rows.

Pure: no Prefect. The metadata tasks and flows publish these as artifacts and files.

Examples:
    >>> from prefect_dhis2.metadata.quality import MetadataQualityResult, QualityCheck
    >>> result = MetadataQualityResult(
    ...     checks=[QualityCheck(name="org units without a code", checked=4, failed=1,
    ...                          examples=[{"id": "DiszpKrYNg8", "name": "Ngelehun CHC",
    ...                                     "where": "Sierra Leone / Bo / Badjia",
    ...                                     "detail": "no code"}])],
    ...     score=75.0, rating="amber")
    >>> quality_markdown(result).splitlines()[0]
    '# Metadata quality: 🟠 75.0 / 100 (amber)'
    >>> quality_markdown(result).splitlines()[-1]
    '| Ngelehun CHC | DiszpKrYNg8 | Sierra Leone / Bo / Badjia | no code |'
    >>> quality_check_rows(result)[0]["examples"]
    'Ngelehun CHC [DiszpKrYNg8] (no code)'
"""

from __future__ import annotations

from typing import Any

from prefect_dhis2.markdown import markdown_table
from prefect_dhis2.metadata.connection import ConnectionCheckResult
from prefect_dhis2.metadata.imports import MetadataImportResult
from prefect_dhis2.metadata.quality import MetadataQualityResult
from prefect_dhis2.writers import Column

__all__ = [
    "QUALITY_CHECK_COLUMNS",
    "connection_markdown",
    "import_description",
    "metadata_export_rows",
    "quality_check_rows",
    "quality_markdown",
]

_BADGES = {"green": "🟢", "amber": "🟠", "red": "🔴"}

QUALITY_CHECK_COLUMNS = [
    Column("check"),
    Column("checked", "int"),
    Column("failed", "int"),
    Column("examples"),
]
"""The columns of `metadata_quality.csv` (rows from `quality_check_rows`)."""


def connection_markdown(base_url: str, result: ConnectionCheckResult) -> str:
    """The connection check as a markdown summary."""
    user = f"{result.username} ({'superuser' if result.superuser else 'regular user'})"
    rows = [
        ["Instance", base_url],
        ["DHIS2 version", f"{result.version} ({result.revision or 'unknown revision'})"],
        ["System name", result.system_name or ""],
        ["Analytics tables last built", result.last_analytics_table_success or "never"],
        ["User", user],
    ] + [[f"{kind} count", f"{n:,}"] for kind, n in result.counts.items()]
    return "# DHIS2 connection check\n\n" + markdown_table(["", ""], rows)


def metadata_export_rows(
    org_units: int, data_elements: int, indicators: int
) -> list[dict[str, Any]]:
    """The table artifact of a metadata export: records per kind.

    Examples:
        >>> metadata_export_rows(1, 2, 3)[1]
        {'metadata': 'data elements', 'records': 2}
    """
    return [
        {"metadata": "org units", "records": org_units},
        {"metadata": "data elements", "records": data_elements},
        {"metadata": "indicators", "records": indicators},
    ]


def quality_check_rows(result: MetadataQualityResult) -> list[dict[str, Any]]:
    """One row per check (columns `QUALITY_CHECK_COLUMNS`), examples joined with `; `."""
    return [
        {
            "check": c.name,
            "checked": c.checked,
            "failed": c.failed,
            "examples": "; ".join(_example_text(e) for e in c.examples),
        }
        for c in result.checks
    ]


def _example_text(example: dict[str, str]) -> str:
    name = example.get("name")
    label = f"{name} [{example['id']}]" if name else example["id"]
    return f"{label} ({example['detail']})"


def quality_markdown(result: MetadataQualityResult) -> str:
    """The quality report: score and rating, a table of checks, examples of each failure.

    Each example names the object beside its UID, and an org unit the units it sits
    under, so that a data manager can find it in DHIS2's maintenance app.
    """
    details = "\n".join(
        f"\n### {c.name}\n\n"
        + markdown_table(
            ["Name", "UID", "Where", "Detail"],
            [[e.get("name", ""), e["id"], e.get("where", ""), e["detail"]] for e in c.examples],
        )
        for c in result.checks
        if c.failed
    )
    return (
        f"# Metadata quality: {_BADGES[result.rating]} {result.score} / 100 ({result.rating})\n\n"
        + markdown_table(
            ["Check", "Checked", "Failed", "Pass rate"],
            [[c.name, c.checked, c.failed, f"{100 * c.pass_rate:.1f}%"] for c in result.checks],
        )
        + "\n\n## Examples\n"
        + (details or "\nNo problems found.")
    )


def import_description(result: MetadataImportResult) -> str:
    """One line on a metadata import: the last step, its status and counts."""
    final = result.final
    step = "commit" if result.committed else "validation"
    return (
        f"DHIS2 metadata import ({step}): status {final.status}, "
        f"{final.stats.created} created, {final.stats.updated} updated, "
        f"{len(final.errors)} errors"
    )
