"""The bundled data value flow: validate, dry-run, then import a file of data values."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from prefect_dhis2._deprecation import deprecated_names
from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.data_values import DataValuesImportResult, import_data_values
from prefect_dhis2.data_values.report import import_report_markdown, write_conflicts_csv
from prefect_dhis2.data_values.rows import DuplicatePolicy
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, artifact_key
from prefect_dhis2.writers import resolve_output_dir

__all__ = ["DataValuesImportReport", "dhis2_data_values_import"]


class DataValuesImportReport(Dhis2FlowReport):
    """What `dhis2_data_values_import` did: the import's result and the file it came from.

    `files` holds `conflicts_csv` when DHIS2 reported conflicts.

    Attributes:
        source: The file imported.
        result: The import, added up over every chunk (counts, conflicts by row,
            failed chunks, status).
    """

    source: str
    result: DataValuesImportResult


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
    on_duplicate: DuplicatePolicy = "error",
) -> DataValuesImportReport:
    """Import a CSV or JSON file of data values; a dry run unless `dry_run=False`.

    The file uses DHIS2's names (`dataElement`, `period`, `orgUnit`,
    `categoryOptionCombo`, `attributeOptionCombo`, `value`). Rows are checked
    before any request (columns, UIDs, periods, numbers for numeric data
    elements); with `dry_run=False` a dry run still comes first, then the
    chunks are committed. The conflicts, each with its file row and the names of
    its data element and org unit (and where the unit sits), are written to
    `conflicts.csv` and published as a table artifact; a markdown report shows
    the counts, the first conflicts, the run and a link to `conflicts.csv`, and a
    progress artifact follows the chunks while they are sent.

    Args:
        source: Path of the `.csv` or `.json` file.
        dry_run: Only check (the default); `False` commits.
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write `conflicts.csv` (a temporary directory when None).
        chunk_size: Values per request.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        async_job: Import each chunk as an `async=true` DHIS2 job.
        on_duplicate: Rows that give one data value (data element, period, org unit,
            option combos) different values: `error` (the default: refused before
            any request, naming the rows), `first` or `last` (keep that row).

    Raises:
        InvalidDataValuesError: Before any request, naming the bad rows.
        DataValuesImportError: After the artifacts, if some chunks could not be sent.

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_data_values_import
        report = dhis2_data_values_import("anc_2024.csv", dry_run=False, instance="BLOCK_NAME")
        print(report.result.imported, report.result.updated, report.result.rejected)
        ```
    """
    watch = Stopwatch()
    directory = resolve_output_dir(output_dir, "dhis2-import")
    creds = resolve_credentials(credentials, instance)
    result = import_data_values(
        creds,
        source,
        dry_run=dry_run,
        chunk_size=chunk_size,
        import_strategy=import_strategy,
        async_job=async_job,
        on_duplicate=on_duplicate,
    )
    files: dict[str, str] = {}
    if result.conflicts:
        path = write_conflicts_csv(directory / "conflicts.csv", result.conflicts)
        files["conflicts_csv"] = str(path)
    report = DataValuesImportReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=files,
        source=source,
        result=result,
        duration_s=watch.elapsed,
    )
    create_markdown_artifact(
        key=artifact_key("dhis2-data-values-import"),
        markdown=import_report_markdown(source, result) + "\n\n" + report.provenance_markdown(),
        description=f"Data value import of {source}: {result.status}",
    )
    result.raise_for_failed_chunks(source, creds.base_url)
    return report


__getattr__ = deprecated_names(
    __name__, {"DataValuesImportError": "prefect_dhis2.data_values.imports"}
)
