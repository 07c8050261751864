"""What a person reads about an import: its summary (log line, markdown) and `conflicts.csv`.

No Prefect: the tasks publish these as artifacts, the flow writes the file.

Examples:
    >>> from prefect_dhis2.data_values.imports import DataValuesImportResult
    >>> print(import_summary_markdown(DataValuesImportResult(dry_run=True, rows=2, chunks=1,
    ...                                                      imported=2)))
    ## Dry run (nothing written): SUCCESS
    <BLANKLINE>
    | rows | chunks | imported | updated | ignored | deleted | rejected | not sent |
    |---|---|---|---|---|---|---|---|
    | 2 | 1 | 2 | 0 | 0 | 0 | 0 | 0 |
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prefect_dhis2.data_values.imports import DataValueConflict, DataValuesImportResult
from prefect_dhis2.markdown import markdown_table
from prefect_dhis2.writers import Column, write_table

__all__ = [
    "CONFLICT_COLUMNS",
    "conflict_table_rows",
    "import_report_markdown",
    "import_summary_line",
    "import_summary_markdown",
    "write_conflicts_csv",
]

CONFLICT_COLUMNS: tuple[Column, ...] = (
    Column("row", "int"),
    Column("chunk", "int"),
    Column("data_element"),
    Column("data_element_name"),
    Column("period"),
    Column("org_unit"),
    Column("org_unit_name"),
    Column("org_unit_path"),
    Column("value"),
    Column("error_code"),
    Column("property"),
    Column("message"),
)
"""The columns of `conflicts.csv`: the fields of `DataValueConflict`."""


_COUNTS: tuple[tuple[str, str], ...] = (
    ("rows", "rows"),
    ("chunks", "chunks"),
    ("imported", "imported"),
    ("updated", "updated"),
    ("ignored", "ignored"),
    ("deleted", "deleted"),
    ("rejected", "rejected"),
    ("not sent", "not_sent"),
)
"""(label, `DataValuesImportResult` field) of the counts a summary shows."""


def import_summary_line(result: DataValuesImportResult) -> str:
    """The import's counts in one line (for logs).

    Examples:
        >>> from prefect_dhis2.data_values.imports import DataValuesImportResult
        >>> import_summary_line(DataValuesImportResult(dry_run=False, imported=3, ignored=1))
        'Import: 3 imported, 0 updated, 1 ignored, 0 deleted, 0 rejected, 0 not sent'
    """
    mode = "Dry run" if result.dry_run else "Import"
    counts = ", ".join(f"{getattr(result, field)} {label}" for label, field in _COUNTS[2:])
    return f"{mode}: {counts}"


def import_summary_markdown(result: DataValuesImportResult) -> str:
    """The import's counts as a markdown table, and its failed chunks if any."""
    mode = "Dry run (nothing written)" if result.dry_run else "Import"
    lines = [
        f"## {mode}: {result.status}",
        "",
        markdown_table(
            [label for label, _ in _COUNTS], [[getattr(result, field) for _, field in _COUNTS]]
        ),
    ]
    if result.failed_chunks:
        lines += [
            "",
            "### Failed chunks (not written; safe to re-run)",
            "",
            markdown_table(
                ["chunk", "first row", "rows", "error", "message"],
                [[f.chunk, f.first_row, f.rows, f.error, f.message] for f in result.failed_chunks],
            ),
        ]
    return "\n".join(lines)


def import_report_markdown(
    source: str, result: DataValuesImportResult, *, conflicts_shown: int = 20
) -> str:
    """What the import flow publishes: the summary and the first conflicts, by name.

    Each conflict row names its data element and org unit beside their UIDs and
    says where the unit sits; the rest are in `conflicts.csv`.

    Examples:
        >>> result = DataValuesImportResult(dry_run=True, rows=1, chunks=1, rejected=1,
        ...     conflicts=[DataValueConflict(row=1, chunk=0, data_element="fbfJHSPpUQD",
        ...         data_element_name="ANC 1st visit", org_unit="DiszpKrYNg8",
        ...         org_unit_name="Ngelehun CHC", org_unit_path="Sierra Leone / Bo / Badjia",
        ...         period="202401", value="x", error_code="E7619", message="Not a number")])
        >>> print(import_report_markdown("anc.csv", result).splitlines()[-1])
        | 1 | ANC 1st visit (fbfJHSPpUQD) | 202401 | Ngelehun CHC (DiszpKrYNg8) | Sierra Leone / Bo / Badjia | x | E7619 | Not a number |
    """
    lines = [f"# DHIS2 data value import of `{source}`", "", import_summary_markdown(result)]
    if result.conflicts:
        shown = result.conflicts[:conflicts_shown]
        more = len(result.conflicts) - len(shown)
        lines += [
            "",
            f"### Conflicts ({len(result.conflicts)})"
            + (f", the first {len(shown)} (all of them in `conflicts.csv`)" if more else ""),
            "",
            markdown_table(
                ["Row", "Data element", "Period", "Org unit", "Where", "Value", "Error", "Message"],
                [
                    [
                        c.row,
                        _named(c.data_element_name, c.data_element),
                        c.period,
                        _named(c.org_unit_name, c.org_unit),
                        c.org_unit_path,
                        c.value,
                        c.error_code,
                        c.message,
                    ]
                    for c in shown
                ],
            ),
        ]
    return "\n".join(lines)


def _named(name: str | None, uid: str | None) -> str:
    if not uid:
        return name or ""
    return f"{name} ({uid})" if name else uid


def conflict_table_rows(conflicts: Iterable[DataValueConflict]) -> list[dict[str, Any]]:
    """The conflicts table a person reads: each object's name beside its UID, and where
    the org unit sits (names of the units above it, top down).

    A name DHIS2 could not give (an unknown UID, or the name lookup failed) is left
    empty beside the UID.

    Examples:
        >>> conflict = DataValueConflict(row=5, chunk=0, data_element="fbfJHSPpUQD",
        ...     data_element_name="ANC 1st visit", period="202401", org_unit="DiszpKrYNg8",
        ...     org_unit_name="Ngelehun CHC", org_unit_path="Sierra Leone / Bo / Badjia",
        ...     value="x", error_code="E7619", message="Value must be a number")
        >>> row = conflict_table_rows([conflict])[0]
        >>> row["data element"], row["org unit"], row["where"]
        ('ANC 1st visit', 'Ngelehun CHC', 'Sierra Leone / Bo / Badjia')
    """
    return [
        {
            "row": c.row,
            "data element": c.data_element_name or "",
            "data element UID": c.data_element or "",
            "period": c.period or "",
            "org unit": c.org_unit_name or "",
            "org unit UID": c.org_unit or "",
            "where": c.org_unit_path or "",
            "value": c.value or "",
            "error": c.error_code or "",
            "property": c.property or "",
            "message": c.message,
            "chunk": c.chunk,
        }
        for c in conflicts
    ]


def write_conflicts_csv(
    path: str | os.PathLike[str], conflicts: Iterable[DataValueConflict]
) -> Path:
    """Write the conflicts, each with its input row, to a CSV file; returns its path.

    Examples:
        ```python
        write_conflicts_csv(directory / "conflicts.csv", result.conflicts)
        ```
    """
    write_table(path, CONFLICT_COLUMNS, (c.model_dump() for c in conflicts))
    return Path(path)
