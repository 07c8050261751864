"""Data values: chunked concurrent reads and safe, visible imports.

Reading (`fetch_data_values`): `GET /api/dataValueSets` for data sets or data
elements, periods or a date range, org units (with their children), and
`lastUpdated` for incremental pulls, cut into chunks of org units and periods
that run concurrently; values read twice (overlapping org units) are kept once.

Writing (`import_data_values`):

1. Rows come from dicts, a CSV file or a JSON file with DHIS2's names
   (`dataElement`, `period`, `orgUnit`, `categoryOptionCombo`,
   `attributeOptionCombo`, `value`, `comment`, `followup`). Missing columns,
   invalid UIDs and invalid periods fail with the row number before any
   request; then the data elements' value types are read once and a
   non-numeric value for a numeric element fails the same way.
2. A dry run of every chunk comes first by default; with `dry_run=False` the
   chunks are then committed, concurrently under the block's budget and the
   host's Prefect global concurrency limit, optionally as `async=true` jobs.
3. Data value imports are upserts, so a chunk whose request failed is sent
   again as is (same bytes); a chunk that still fails is reported and never
   hides the chunks that succeeded.
4. Every `ImportSummary` (any DHIS2 version's envelope) is added up; each
   conflict is mapped back to the input row it belongs to (chunk offset +
   index), and the result says exactly how many values were imported,
   updated, ignored, deleted and rejected.

Example:
    ```python
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.data_values import import_data_values

    result = import_data_values(Dhis2Credentials.load("BLOCK_NAME"), "values.csv",
                                dry_run=False)
    print(result.imported, result.updated, result.ignored, result.rejected)
    ```
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from pydantic import BaseModel, Field, PrivateAttr

from prefect_dhis2.client import AsyncDhis2Client, Dhis2AuthenticationError, Dhis2Error
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.host_limit import ensure_host_concurrency_limit, host_slot
from prefect_dhis2.models import ImportCount, ImportSummary
from prefect_dhis2.periods import is_valid_period, parse_period
from prefect_dhis2.runtime import run_logger, run_sync
from prefect_dhis2.uids import is_valid_uid
from prefect_dhis2.work_queue import run_queue

__all__ = [
    "DATA_VALUE_COLUMNS",
    "REQUIRED_COLUMNS",
    "ChunkFailure",
    "DataValueConflict",
    "DataValuesExtract",
    "DataValuesImportResult",
    "InvalidDataValuesError",
    "fetch_data_values",
    "fetch_data_values_async",
    "import_data_values",
    "import_data_values_async",
    "read_data_values_file",
    "validate_data_value_rows",
    "validate_value_types",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("dataElement", "period", "orgUnit", "value")
"""Columns every data value row needs."""

DATA_VALUE_COLUMNS: tuple[str, ...] = (
    "dataElement",
    "period",
    "orgUnit",
    "categoryOptionCombo",
    "attributeOptionCombo",
    "value",
    "comment",
    "followup",
)
"""The data value fields DHIS2 imports, in DHIS2's spelling."""

_NUMERIC_TYPES = frozenset(
    {
        "NUMBER",
        "PERCENTAGE",
        "UNIT_INTERVAL",
        "INTEGER",
        "INTEGER_POSITIVE",
        "INTEGER_NEGATIVE",
        "INTEGER_ZERO_OR_POSITIVE",
    }
)
_INTEGER = re.compile(r"^[+-]?\d+$")
_MAX_ERRORS_SHOWN = 20


class InvalidDataValuesError(ValueError):
    """Rows that cannot be imported, found before any write.

    Attributes:
        errors: `(row number, message)` pairs; row numbers count from 1 for
            the first data row (CSV: the line after the header is row 1).
    """

    def __init__(self, errors: Sequence[tuple[int, str]], source: str = "input") -> None:
        self.errors = list(errors)
        self.source = source
        shown = "; ".join(f"row {row}: {msg}" for row, msg in self.errors[:_MAX_ERRORS_SHOWN])
        more = len(self.errors) - _MAX_ERRORS_SHOWN
        extra = f"; and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.errors)} invalid data value(s) in {source}: {shown}{extra}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.errors, self.source))


# ---------------------------------------------------------------- reading input


def _normalise_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key in DATA_VALUE_COLUMNS:
        value = raw.get(key)
        if key == "followup" and value is None:
            value = raw.get("followUp")
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        if key == "followup":
            row[key] = value if isinstance(value, bool) else str(value).lower() == "true"
        else:
            row[key] = str(value).strip()
    return row


def read_data_values_file(path: str | Path) -> list[dict[str, Any]]:
    """Read data value rows from a CSV or JSON file with DHIS2's column names.

    CSV needs a header with at least `dataElement`, `period`, `orgUnit` and
    `value`; JSON is either a data value set `{"dataValues": [...]}` or a list
    of data values. Set-level `period`/`orgUnit`/`attributeOptionCombo` of a
    JSON data value set fill values that lack them.

    Raises:
        InvalidDataValuesError: If columns are missing (naming them) or the
            JSON is not data values.
        FileNotFoundError: If `path` does not exist.

    Example:
        ```python
        rows = read_data_values_file("anc_2024.csv")
        ```
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InvalidDataValuesError(
                    [(0, f"missing column(s) {', '.join(missing)} (header has {header})")],
                    source=str(file),
                )
            return [_normalise_row({k.strip(): v for k, v in r.items() if k}) for r in reader]
    if suffix == ".json":
        data = json.loads(file.read_text(encoding="utf-8"))
        defaults: dict[str, Any] = {}
        if isinstance(data, dict):
            defaults = {
                k: data[k] for k in ("period", "orgUnit", "attributeOptionCombo") if k in data
            }
            data = data.get("dataValues")
        if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
            raise InvalidDataValuesError(
                [(0, 'expected {"dataValues": [...]} or a list of data values')],
                source=str(file),
            )
        rows = [_normalise_row({**defaults, **v}) for v in data]
        missing = sorted({c for row in rows for c in REQUIRED_COLUMNS if c not in row})
        if rows and missing and all(c not in rows[0] for c in missing):
            raise InvalidDataValuesError(
                [(0, f"missing field(s) {', '.join(missing)} in the data values")],
                source=str(file),
            )
        return rows
    raise ValueError(f"Unknown data value file type {file.suffix!r}: use .csv or .json")


def validate_data_value_rows(rows: Sequence[Mapping[str, Any]], source: str = "input") -> None:
    """Check every row's fields, UIDs and period locally (no request).

    Raises:
        InvalidDataValuesError: Listing each bad row (1-based) and what is wrong.

    Example:
        >>> validate_data_value_rows([{"dataElement": "fbfJHSPpUQD", "period": "2024W60",
        ...     "orgUnit": "ImspTQPwCqd", "value": "3"}])
        Traceback (most recent call last):
        ...
        prefect_dhis2.data_values.imports.InvalidDataValuesError: 1 invalid data value(s) in input: row 1: invalid period '2024W60'
    """
    errors: list[tuple[int, str]] = []
    for number, row in enumerate(rows, start=1):
        problems: list[str] = []
        missing = [c for c in REQUIRED_COLUMNS if c != "value" and not row.get(c)]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        for key in ("dataElement", "orgUnit", "categoryOptionCombo", "attributeOptionCombo"):
            value = row.get(key)
            if value and not is_valid_uid(value):
                problems.append(f"invalid {key} UID {value!r}")
        period = row.get("period")
        if period and not is_valid_period(period):
            problems.append(f"invalid period {period!r}")
        if "value" not in row and "comment" not in row:
            problems.append("no value (or comment)")
        if problems:
            errors.append((number, "; ".join(problems)))
    if errors:
        raise InvalidDataValuesError(errors, source)


def _value_problem(value_type: str, value: str) -> str | None:
    if value_type not in _NUMERIC_TYPES:
        return None
    if value_type.startswith("INTEGER"):
        if not _INTEGER.match(value):
            return f"{value!r} is not an integer ({value_type})"
        number = int(value)
        if value_type == "INTEGER_POSITIVE" and number <= 0:
            return f"{value!r} is not a positive integer"
        if value_type == "INTEGER_NEGATIVE" and number >= 0:
            return f"{value!r} is not a negative integer"
        if value_type == "INTEGER_ZERO_OR_POSITIVE" and number < 0:
            return f"{value!r} is not zero or a positive integer"
        return None
    try:
        number_f = float(value)
    except ValueError:
        return f"{value!r} is not a number ({value_type})"
    if not math.isfinite(number_f):
        return f"{value!r} is not a number ({value_type})"
    if value_type == "PERCENTAGE" and not 0 <= number_f <= 100:
        return f"{value!r} is not a percentage (0-100)"
    if value_type == "UNIT_INTERVAL" and not 0 <= number_f <= 1:
        return f"{value!r} is not between 0 and 1"
    return None


def validate_value_types(
    rows: Sequence[Mapping[str, Any]],
    value_types: Mapping[str, str],
    source: str = "input",
) -> None:
    """Check that values of numeric data elements are numbers of the right kind.

    Args:
        rows: The data value rows.
        value_types: Data element UID to DHIS2 `valueType`.
        source: Name of the input, for messages.

    Raises:
        InvalidDataValuesError: Naming each bad row, its data element and value.

    Example:
        >>> validate_value_types([{"dataElement": "fbfJHSPpUQD", "value": "twelve"}],
        ...                      {"fbfJHSPpUQD": "NUMBER"})
        Traceback (most recent call last):
        ...
        prefect_dhis2.data_values.imports.InvalidDataValuesError: 1 invalid data value(s) in input: row 1: data element fbfJHSPpUQD: 'twelve' is not a number (NUMBER)
    """
    errors: list[tuple[int, str]] = []
    for number, row in enumerate(rows, start=1):
        value = row.get("value")
        value_type = value_types.get(str(row.get("dataElement")))
        if value is None or value_type is None:
            continue
        problem = _value_problem(value_type, str(value))
        if problem:
            errors.append((number, f"data element {row['dataElement']}: {problem}"))
    if errors:
        raise InvalidDataValuesError(errors, source)


# ---------------------------------------------------------------- import results


class DataValueConflict(BaseModel):
    """One conflict, mapped back to the input row it belongs to.

    Attributes:
        row: 1-based input row number (None when DHIS2 gave no index, 2.36 and older).
        chunk: 0-based chunk number.
        data_element: The row's data element.
        period: The row's period.
        org_unit: The row's org unit.
        value: The row's value.
        error_code: DHIS2's error code (E7610, E8103, ...).
        property: The offending property, when DHIS2 names it.
        message: DHIS2's message.
    """

    row: int | None
    chunk: int
    data_element: str | None = None
    period: str | None = None
    org_unit: str | None = None
    value: str | None = None
    error_code: str | None = None
    property: str | None = None
    message: str


class ChunkFailure(BaseModel):
    """A chunk whose request failed after every retry (nothing known to be written).

    Attributes:
        chunk: 0-based chunk number.
        first_row: 1-based number of its first input row.
        rows: Number of rows in it.
        error: Exception class name.
        message: The error message (never credentials).
    """

    chunk: int
    first_row: int
    rows: int
    error: str
    message: str


class DataValuesImportResult(BaseModel):
    """What an import did, added up over every chunk.

    `ignored` is DHIS2's count and includes the `rejected` values (rows with a
    conflict); values of failed chunks are in `not_sent`.

    Attributes:
        dry_run: True when nothing was committed.
        rows: Input rows.
        chunks: Chunks sent.
        imported: Values created.
        updated: Values changed.
        ignored: Values left as they were (unchanged, or rejected).
        deleted: Values deleted.
        rejected: Rows DHIS2 refused (each has a conflict).
        not_sent: Rows of chunks whose request failed.
        already_written: Values the dry run counted as imported or updated
            that the commit found already written (a commit whose answer was
            lost and that was sent again, or another writer); they are counted
            as the dry run said, so a retried chunk reports what it changed.
        conflicts: Every conflict with its input row.
        failed_chunks: Chunks whose request failed.
        dry_run_check: The dry run that preceded a commit, if any.
        status: `SUCCESS`, `WARNING` (conflicts) or `ERROR` (failed chunks).
        duration_s: Wall time.
    """

    dry_run: bool
    rows: int = 0
    chunks: int = 0
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    rejected: int = 0
    not_sent: int = 0
    already_written: int = 0
    conflicts: list[DataValueConflict] = Field(default_factory=list)
    failed_chunks: list[ChunkFailure] = Field(default_factory=list)
    dry_run_check: DataValuesImportResult | None = None
    status: str = "SUCCESS"
    duration_s: float = 0.0
    _chunk_counts: dict[int, ImportCount] = PrivateAttr(default_factory=dict)


def _conflicts_of(
    summary: ImportSummary, chunk: int, offset: int, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[DataValueConflict], set[int]]:
    conflicts: list[DataValueConflict] = []
    rejected = {offset + i for i in summary.rejected_indexes}
    for conflict in summary.conflicts:
        indexes: list[int | None] = list(conflict.indexes) or [None]
        for index in indexes:
            source = (
                rows[offset + index] if index is not None and offset + index < len(rows) else {}
            )
            conflicts.append(
                DataValueConflict(
                    row=offset + index + 1 if index is not None else None,
                    chunk=chunk,
                    data_element=source.get("dataElement"),
                    period=source.get("period"),
                    org_unit=source.get("orgUnit"),
                    value=source.get("value"),
                    error_code=conflict.error_code,
                    property=conflict.property,
                    message=conflict.value,
                )
            )
    return conflicts, rejected


def _payload(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"dataValues": [dict(r) for r in rows]}


async def _import_pass(
    client: AsyncDhis2Client,
    rows: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool,
    chunk_size: int,
    import_strategy: str,
    async_job: bool,
    concurrency_limit: str | None,
    chunk_attempts: int,
) -> DataValuesImportResult:
    started = time.perf_counter()
    offsets = list(range(0, len(rows), chunk_size))
    result = DataValuesImportResult(dry_run=dry_run, rows=len(rows), chunks=len(offsets))
    rejected: set[int] = set()
    logger = run_logger()

    async def send(number: int) -> None:
        offset = offsets[number]
        chunk = rows[offset : offset + chunk_size]
        payload = _payload(chunk)  # built once: every attempt sends the same content
        error: Dhis2Error | None = None
        for attempt in range(chunk_attempts):
            try:
                summary = await client.post_data_values(
                    payload,
                    dry_run=dry_run,
                    import_strategy=import_strategy,
                    async_job=async_job,
                )
            except Dhis2AuthenticationError:
                raise
            except Dhis2Error as exc:
                error = exc
                logger.warning(
                    "Data value chunk %d (rows %d-%d) failed (attempt %d of %d): %s",
                    number,
                    offset + 1,
                    offset + len(chunk),
                    attempt + 1,
                    chunk_attempts,
                    exc,
                )
                await asyncio.sleep(min(2.0**attempt * 0.5, 10.0))
                continue
            count = summary.import_count
            result._chunk_counts[number] = count
            result.imported += count.imported
            result.updated += count.updated
            result.ignored += count.ignored
            result.deleted += count.deleted
            conflicts, bad = _conflicts_of(summary, number, offset, rows)
            result.conflicts.extend(conflicts)
            rejected.update(bad)
            return
        assert error is not None
        result.not_sent += len(chunk)
        result.failed_chunks.append(
            ChunkFailure(
                chunk=number,
                first_row=offset + 1,
                rows=len(chunk),
                error=type(error).__name__,
                message=error.dhis2_message or error.message,
            )
        )

    await run_queue(
        range(len(offsets)),
        send,
        workers=client.settings.max_concurrency,
        slot=host_slot(concurrency_limit),
    )
    result.rejected = len(rejected)
    result.conflicts.sort(key=lambda c: (c.row is None, c.row or 0, c.chunk))
    result.failed_chunks.sort(key=lambda f: f.chunk)
    if result.failed_chunks:
        result.status = "ERROR"
    elif result.conflicts:
        result.status = "WARNING"
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


async def _value_types(
    client: AsyncDhis2Client, rows: Iterable[Mapping[str, Any]]
) -> dict[str, str]:
    ids = sorted({str(r["dataElement"]) for r in rows if r.get("dataElement")})
    if not ids:
        return {}
    records = await client.fetch_metadata_by_values(
        "dataElements", "id", ids, fields="id,valueType"
    )
    return {str(r["id"]): str(r.get("valueType", "")) for r in records if "id" in r}


async def import_data_values_async(
    client: AsyncDhis2Client,
    rows: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool = True,
    dry_run_first: bool = True,
    chunk_size: int = 5_000,
    import_strategy: str = "CREATE_AND_UPDATE",
    async_job: bool = False,
    concurrency_limit: str | None = None,
    chunk_attempts: int = 3,
    check_value_types: bool = True,
    source: str = "input",
) -> DataValuesImportResult:
    """Validate and import data value rows in concurrent chunks (see the module docstring).

    Args:
        client: An open async client.
        rows: Data values with DHIS2's field names.
        dry_run: Only check: DHIS2 reports what it would do, writes nothing.
        dry_run_first: With `dry_run=False`, run a dry run of every chunk first
            (its result is in `dry_run_check`).
        chunk_size: Values per request.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        async_job: Import each chunk as an `async=true` job, polled to completion.
        concurrency_limit: Prefect global concurrency limit to hold per chunk.
        chunk_attempts: Attempts per chunk when its request fails (after the
            client's own retries); safe because data value imports are upserts.
        check_value_types: Read the data elements' value types and check the
            values of numeric elements before importing.
        source: Name of the input, for error messages.

    Returns:
        The summed result.

    Raises:
        InvalidDataValuesError: Before any write, when rows are invalid.

    Example:
        ```python
        async with credentials.get_async_client() as client:
            result = await import_data_values_async(client, rows, dry_run=False)
        ```
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    normalised = [_normalise_row(r) for r in rows]
    validate_data_value_rows(normalised, source)
    if check_value_types:
        validate_value_types(normalised, await _value_types(client, normalised), source)
    options: dict[str, Any] = {
        "chunk_size": chunk_size,
        "import_strategy": import_strategy,
        "async_job": async_job,
        "concurrency_limit": concurrency_limit,
        "chunk_attempts": chunk_attempts,
    }
    check: DataValuesImportResult | None = None
    if dry_run or dry_run_first:
        check = await _import_pass(client, normalised, dry_run=True, **options)
        if dry_run:
            return check
    result = await _import_pass(client, normalised, dry_run=False, **options)
    result.dry_run_check = check
    if check is not None:
        _reconcile(result, check)
    return result


def _reconcile(result: DataValuesImportResult, check: DataValuesImportResult) -> None:
    """Count values a commit found already written as the dry run classified them.

    When a commit's answer is lost (a truncated body) the chunk is sent again
    and DHIS2 reports its values as ignored: they are already there. If a
    chunk's commit differs from its dry run only by such values, its counts
    are taken from the dry run and the difference is reported in
    `already_written`.
    """
    for number, done in result._chunk_counts.items():
        planned = check._chunk_counts.get(number)
        if planned is None:
            continue
        moved = (
            (planned.imported - done.imported)
            + (planned.updated - done.updated)
            + (planned.deleted - done.deleted)
        )
        if (
            moved > 0
            and done.imported <= planned.imported
            and done.updated <= planned.updated
            and done.deleted <= planned.deleted
            and done.ignored - planned.ignored == moved
        ):
            result.imported += planned.imported - done.imported
            result.updated += planned.updated - done.updated
            result.deleted += planned.deleted - done.deleted
            result.ignored -= moved
            result.already_written += moved


def _import_summary_table(result: DataValuesImportResult) -> str:
    from prefect_dhis2.markdown import markdown_table

    mode = "Dry run (nothing written)" if result.dry_run else "Import"
    lines = [
        f"## {mode}: {result.status}",
        "",
        markdown_table(
            ["rows", "chunks", "imported", "updated", "ignored", "deleted", "rejected", "not sent"],
            [
                [
                    result.rows,
                    result.chunks,
                    result.imported,
                    result.updated,
                    result.ignored,
                    result.deleted,
                    result.rejected,
                    result.not_sent,
                ]
            ],
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


def publish_import_artifacts(
    result: DataValuesImportResult, key_prefix: str = "dhis2-import"
) -> None:
    """Publish the import summary (markdown) and its conflicts (table) as artifacts.

    Must run inside a flow or task run.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        key=f"{key_prefix}-summary",
        markdown=_import_summary_table(result),
        description="DHIS2 data value import summary",
    )
    if result.conflicts:
        create_table_artifact(
            key=f"{key_prefix}-conflicts",
            table=[c.model_dump() for c in result.conflicts],
            description="Conflicts by input row",
        )


@task(
    name="Import DHIS2 data values",
    description="Validate data values, dry-run them, then commit in concurrent chunks.",
)
def import_data_values(
    credentials: Dhis2Credentials,
    values: str | Sequence[Mapping[str, Any]],
    dry_run: bool = True,
    dry_run_first: bool = True,
    chunk_size: int = 5_000,
    import_strategy: str = "CREATE_AND_UPDATE",
    async_job: bool = False,
    use_host_limit: bool = True,
    chunk_attempts: int = 3,
) -> DataValuesImportResult:
    """Import data values from rows or a CSV/JSON file; dry run only by default.

    Publishes a summary artifact and a table artifact of the conflicts, each
    with the input row it belongs to.

    Args:
        credentials: The DHIS2 instance.
        values: Rows (dicts with DHIS2's field names) or the path of a CSV/JSON file.
        dry_run: Only check (the default); `False` commits.
        dry_run_first: With `dry_run=False`, dry-run every chunk before committing.
        chunk_size: Values per request.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        async_job: Send each chunk as an `async=true` job.
        use_host_limit: Hold a slot of the host's global concurrency limit per chunk.
        chunk_attempts: Attempts per chunk whose request fails.

    Returns:
        The summed result; a failed chunk shows in `failed_chunks` and `status`.

    Raises:
        InvalidDataValuesError: Before any write, naming the bad rows.

    Example:
        ```python
        result = import_data_values(credentials, "values.csv", dry_run=False)
        assert result.status != "ERROR"
        ```
    """
    source = "input"
    if isinstance(values, str | Path):
        source = str(values)
        rows: Sequence[Mapping[str, Any]] = read_data_values_file(values)
    else:
        rows = values

    async def run() -> DataValuesImportResult:
        limit = await ensure_host_concurrency_limit(credentials) if use_host_limit else None
        async with credentials.get_async_client() as client:
            return await import_data_values_async(
                client,
                rows,
                dry_run=dry_run,
                dry_run_first=dry_run_first,
                chunk_size=chunk_size,
                import_strategy=import_strategy,
                async_job=async_job,
                concurrency_limit=limit,
                chunk_attempts=chunk_attempts,
                source=source,
            )

    result = run_sync(run())
    run_logger().info(
        "%s: %d imported, %d updated, %d ignored, %d deleted, %d rejected, %d not sent",
        "Dry run" if result.dry_run else "Import",
        result.imported,
        result.updated,
        result.ignored,
        result.deleted,
        result.rejected,
        result.not_sent,
    )
    publish_import_artifacts(result)
    return result


# ---------------------------------------------------------------- reading data values


class DataValuesExtract(BaseModel):
    """Data values read from DHIS2 (plain data, persistable).

    Attributes:
        base_url: The DHIS2 instance.
        data_values: The values as DHIS2 sends them (strings), each once.
        requests: Chunks requested.
        duplicates_dropped: Values read twice (overlapping org units) kept once.
    """

    base_url: str
    data_values: list[dict[str, Any]] = Field(default_factory=list)
    requests: int = 0
    duplicates_dropped: int = 0


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    if not items:
        return [[]]
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


async def fetch_data_values_async(
    client: AsyncDhis2Client,
    *,
    org_units: Sequence[str],
    data_sets: Sequence[str] = (),
    data_elements: Sequence[str] = (),
    periods: Sequence[str] = (),
    start_date: date | None = None,
    end_date: date | None = None,
    children: bool = False,
    last_updated: str | None = None,
    include_deleted: bool = False,
    org_units_per_request: int = 50,
    periods_per_request: int = 12,
) -> DataValuesExtract:
    """Read data values in concurrent chunks of org units and periods.

    Args:
        client: An open async client.
        org_units: Org unit UIDs (with `children=True`, their subtrees too).
        data_sets: Data set UIDs.
        data_elements: Data element UIDs (DHIS2 2.39+).
        periods: ISO periods (or use `start_date`/`end_date`).
        start_date: Start of a date range.
        end_date: End of a date range.
        children: Include the org units' descendants.
        last_updated: Only values changed since this date/time (incremental pulls).
        include_deleted: Include soft-deleted values.
        org_units_per_request: Org units per chunk.
        periods_per_request: Periods per chunk.

    Returns:
        The values, each once.

    Raises:
        ValueError: Before any request, for invalid UIDs, periods or a missing selection.

    Example:
        ```python
        async with credentials.get_async_client() as client:
            extract = await fetch_data_values_async(
                client, data_sets=["BfMAe6Itzgt"], org_units=["ImspTQPwCqd"],
                periods=["202401"], children=True)
        ```
    """
    for what, items in (
        ("org unit", org_units),
        ("data set", data_sets),
        ("data element", data_elements),
    ):
        for item in items:
            if not is_valid_uid(item):
                raise ValueError(f"Invalid {what} UID {item!r}")
    for period in periods:
        parse_period(period)  # raises a ValueError naming the period
    if not org_units:
        raise ValueError("At least one org unit is needed")
    if not data_sets and not data_elements:
        raise ValueError("At least one data set or data element is needed")
    if not periods and not (start_date and end_date) and not last_updated:
        raise ValueError("Give periods, start_date and end_date, or last_updated")
    base: list[tuple[str, str]] = [("dataSet", d) for d in data_sets]
    base += [("dataElement", d) for d in data_elements]
    if start_date and end_date:
        base += [("startDate", start_date.isoformat()), ("endDate", end_date.isoformat())]
    if children:
        base.append(("children", "true"))
    if last_updated:
        base.append(("lastUpdated", last_updated))
    if include_deleted:
        base.append(("includeDeleted", "true"))
    requests = [
        [*base, *(("orgUnit", o) for o in ous), *(("period", p) for p in pes)]
        for ous in _chunks(list(org_units), org_units_per_request)
        for pes in _chunks(list(periods), periods_per_request)
    ]

    async def one(params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        grouped: dict[str, Any] = {}
        for key, value in params:
            grouped.setdefault(key, []).append(value)
        data = await client.get("dataValueSets", grouped)
        values = data.get("dataValues", []) if isinstance(data, dict) else []
        return [v for v in values if isinstance(v, dict)]

    results = await asyncio.gather(*(one(p) for p in requests))
    seen: set[tuple[str, ...]] = set()
    values: list[dict[str, Any]] = []
    dropped = 0
    for batch in results:
        for value in batch:
            key = tuple(
                str(value.get(k, ""))
                for k in (
                    "dataElement",
                    "period",
                    "orgUnit",
                    "categoryOptionCombo",
                    "attributeOptionCombo",
                )
            )
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            values.append(value)
    return DataValuesExtract(
        base_url=client.base_url,
        data_values=values,
        requests=len(requests),
        duplicates_dropped=dropped,
    )


def _data_values_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    """Cache only reads that name their freshness (`cache_token`), never the credentials."""
    token = parameters.get("cache_token")
    credentials = parameters.get("credentials")
    if token is None or not isinstance(credentials, Dhis2Credentials):
        return None
    request = {
        k: (sorted(v) if isinstance(v, list | tuple) else v)
        for k, v in parameters.items()
        if k not in ("credentials", "cache_token")
    }
    text = json.dumps([credentials.base_url, request, token], sort_keys=True, default=str)
    return "dhis2-data-values-" + hashlib.sha256(text.encode()).hexdigest()


@task(
    name="Fetch DHIS2 data values",
    description="Read data values in concurrent chunks of org units and periods.",
    cache_key_fn=_data_values_cache_key,
    persist_result=True,
)
def fetch_data_values(
    credentials: Dhis2Credentials,
    org_units: list[str],
    data_sets: list[str] | None = None,
    data_elements: list[str] | None = None,
    periods: list[str] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    children: bool = False,
    last_updated: str | None = None,
    include_deleted: bool = False,
    org_units_per_request: int = 50,
    periods_per_request: int = 12,
    cache_token: str | None = None,
) -> DataValuesExtract:
    """Read data values (see `fetch_data_values_async` for the arguments).

    Data values have no server-wide freshness stamp, so the task caches only
    when given a `cache_token` that changes whenever the data may have (e.g. the
    end of the last closed period, or the time of the previous incremental
    pull); the key is the instance URL, the sorted request and that token.

    Example:
        ```python
        extract = fetch_data_values(credentials, ["ImspTQPwCqd"], data_sets=["BfMAe6Itzgt"],
                                    periods=["202401"], children=True)
        ```
    """

    async def run() -> DataValuesExtract:
        async with credentials.get_async_client() as client:
            return await fetch_data_values_async(
                client,
                org_units=org_units,
                data_sets=data_sets or (),
                data_elements=data_elements or (),
                periods=periods or (),
                start_date=start_date,
                end_date=end_date,
                children=children,
                last_updated=last_updated,
                include_deleted=include_deleted,
                org_units_per_request=org_units_per_request,
                periods_per_request=periods_per_request,
            )

    extract = run_sync(run())
    run_logger().info(
        "Read %d data values in %d requests", len(extract.data_values), extract.requests
    )
    return extract
