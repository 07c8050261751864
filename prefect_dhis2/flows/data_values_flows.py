"""The bundled data value flow: validate, dry-run, then import a file of data values."""

from __future__ import annotations

from prefect import flow

from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.data_values import DataValuesImportResult, import_data_values
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch
from prefect_dhis2.writers import Column, resolve_output_dir, write_table

__all__ = ["DataValuesImportError", "DataValuesImportReport", "dhis2_data_values_import"]


class DataValuesImportReport(Dhis2FlowReport):
    """What `dhis2_data_values_import` did (`ignored` includes `rejected`).

    Attributes:
        source: The file imported.
        dry_run: True when nothing was committed.
        status: `SUCCESS`, `WARNING` (conflicts) or `ERROR` (chunks not sent).
        rows: Rows in the file.
        imported: Values created.
        updated: Values changed.
        ignored: Values left as they were (unchanged or rejected).
        deleted: Values deleted.
        rejected: Rows refused with a conflict.
        not_sent: Rows of chunks that failed.
        conflicts: Number of conflicts (one per row and reason).
    """

    source: str
    dry_run: bool
    status: str
    rows: int
    imported: int
    updated: int
    ignored: int
    deleted: int
    rejected: int
    not_sent: int
    conflicts: int


class DataValuesImportError(RuntimeError):
    """Some chunks of an import could not be sent; the others were written."""


_CONFLICT_COLUMNS = [
    Column("row", "int"),
    Column("chunk", "int"),
    Column("data_element"),
    Column("period"),
    Column("org_unit"),
    Column("value"),
    Column("error_code"),
    Column("property"),
    Column("message"),
]


@flow(name="dhis2-data-values-import", log_prints=False)
def dhis2_data_values_import(
    source: str,
    dry_run: bool = True,
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    chunk_size: int = 5_000,
    import_strategy: str = "CREATE_AND_UPDATE",
    async_job: bool = False,
) -> DataValuesImportReport:
    """Import a CSV or JSON file of data values; a dry run unless `dry_run=False`.

    The file uses DHIS2's names (`dataElement`, `period`, `orgUnit`,
    `categoryOptionCombo`, `attributeOptionCombo`, `value`). Rows are checked
    before any request (columns, UIDs, periods, numbers for numeric data
    elements); with `dry_run=False` a dry run still comes first, then the
    chunks are committed. The conflicts, each with its file row, are written to
    `conflicts.csv` and published as a table artifact with a summary.

    Args:
        source: Path of the `.csv` or `.json` file.
        dry_run: Only check (the default); `False` commits.
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write `conflicts.csv` (a temporary directory when None).
        chunk_size: Values per request.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        async_job: Import each chunk as an `async=true` DHIS2 job.

    Raises:
        InvalidDataValuesError: Before any request, naming the bad rows.
        DataValuesImportError: After the artifacts, if some chunks could not be sent.

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_data_values_import
        report = dhis2_data_values_import("anc_2024.csv", dry_run=False, instance="BLOCK_NAME")
        print(report.imported, report.updated, report.rejected)
        ```
    """
    watch = Stopwatch()
    directory = resolve_output_dir(output_dir, "dhis2-import")
    creds = resolve_credentials(credentials, instance)
    result: DataValuesImportResult = import_data_values(
        creds,
        source,
        dry_run=dry_run,
        chunk_size=chunk_size,
        import_strategy=import_strategy,
        async_job=async_job,
    )
    files: dict[str, str] = {}
    if result.conflicts:
        path = directory / "conflicts.csv"
        write_table(path, _CONFLICT_COLUMNS, (c.model_dump() for c in result.conflicts))
        files["conflicts_csv"] = str(path)
    report = DataValuesImportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=files,
        source=source,
        dry_run=result.dry_run,
        status=result.status,
        rows=result.rows,
        imported=result.imported,
        updated=result.updated,
        ignored=result.ignored,
        deleted=result.deleted,
        rejected=result.rejected,
        not_sent=result.not_sent,
        conflicts=len(result.conflicts),
        duration_s=watch.elapsed,
    )
    if result.failed_chunks:
        raise DataValuesImportError(
            f"{len(result.failed_chunks)} chunk(s) ({result.not_sent} rows) of {source} could "
            f"not be sent to {creds.base_url} and were not written; the other chunks were: "
            f"{result.imported} imported, {result.updated} updated, {result.ignored} ignored, "
            f"{result.rejected} rejected. Re-run the import: it is safe (DHIS2 upserts)."
        )
    return report
