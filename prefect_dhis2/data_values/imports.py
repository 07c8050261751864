"""Importing data values: chunks, dry run then commit, retries, reconciliation (no Prefect).

`aimport_data_values` takes an open `AsyncDhis2Client` and rows with DHIS2's names
(see `prefect_dhis2.data_values.rows`):

1. Every row is normalised and checked locally (fields, UIDs, periods, rows that give
   one data value different values: see `resolve_duplicate_values` and `on_duplicate`),
   then the data elements' value types are read once and a non-numeric value for a
   numeric element fails the same way, before any write.
2. A dry run of every chunk comes first by default; with `dry_run=False` the chunks
   are then committed, concurrently under the client's `max_concurrency` and, when
   given a `slot`, a shared budget (the Prefect tasks pass the host's global
   concurrency limit), optionally as `async=true` jobs.
3. Data value imports are upserts, so a chunk whose request failed is sent again as
   is (same bytes); a chunk that still fails is reported and never hides the chunks
   that succeeded.
4. Every `ImportSummary` (any DHIS2 version's envelope) is added up; each conflict is
   mapped back to the input row it belongs to (chunk offset + index), and the result
   says exactly how many values were imported, updated, ignored, deleted and rejected.
5. The data elements and org units of the conflicts are named (one batched metadata
   read each; an org unit also gets the names of the units it sits under), so the
   conflicts table reads `ANC 1st visit` at `Sierra Leone / Bo / Badjia / Ngelehun CHC`;
   if that read fails the import still succeeds and the conflicts keep their UIDs.

Progress: an `on_progress` callback gets a `ChunkProgress` after each chunk (the dry
run's and the commit's chunks are one plan), and a line is logged per few percent.

Examples:
    ```python
    async with Dhis2Credentials.load("BLOCK_NAME").get_async_client() as client:
        result = await aimport_data_values(client, rows, dry_run=False)
    print(result.imported, result.updated, result.ignored, result.rejected)
    ```
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from prefect_dhis2.client import AsyncDhis2Client, Dhis2AuthenticationError, Dhis2Error
from prefect_dhis2.data_values.progress import ChunkTracker, ProgressCallback
from prefect_dhis2.data_values.rows import (
    DuplicatePolicy,
    normalise_row,
    resolve_duplicate_values,
    validate_data_value_rows,
    validate_value_types,
)
from prefect_dhis2.models import ImportCount, ImportSummary
from prefect_dhis2.work_queue import SlotFactory, run_queue

__all__ = [
    "ChunkFailure",
    "DataValueConflict",
    "DataValuesImportError",
    "DataValuesImportResult",
    "aimport_data_values",
]

_Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]

_LOGGER = logging.getLogger("prefect_dhis2")


class DataValueConflict(BaseModel):
    """One conflict, mapped back to the input row it belongs to.

    Attributes:
        row: 1-based input row number (None when DHIS2 gave no index, 2.36 and older).
        chunk: 0-based chunk number.
        data_element: The row's data element.
        data_element_name: Its name (None when it could not be read).
        period: The row's period.
        org_unit: The row's org unit.
        org_unit_name: Its name (None when it could not be read).
        org_unit_path: The names of the units it sits under, top down
            (`Sierra Leone / Bo / Badjia`).
        value: The row's value.
        error_code: DHIS2's error code (E7610, E8103, ...).
        property: The offending property, when DHIS2 names it.
        message: DHIS2's message.
    """

    row: int | None
    chunk: int
    data_element: str | None = None
    data_element_name: str | None = None
    period: str | None = None
    org_unit: str | None = None
    org_unit_name: str | None = None
    org_unit_path: str | None = None
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
        duplicates_dropped: Input rows not sent because another row names the same
            data value (an identical repeat, or the row `on_duplicate` did not keep).
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
    duplicates_dropped: int = 0
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

    def raise_for_failed_chunks(self, source: str, base_url: str) -> None:
        """Raise `DataValuesImportError` if some chunks could not be sent.

        Args:
            source: Name of the input (e.g. the file), for the message.
            base_url: The DHIS2 instance, for the message.

        Raises:
            DataValuesImportError: Saying what was and was not written.

        Examples:
            >>> result = DataValuesImportResult(dry_run=False, rows=10, imported=4, not_sent=6,
            ...     failed_chunks=[ChunkFailure(chunk=1, first_row=5, rows=6,
            ...                                 error="Dhis2ServerError", message="503")])
            >>> result.raise_for_failed_chunks("values.csv", "https://dhis2.example.org")
            Traceback (most recent call last):
            ...
            prefect_dhis2.data_values.imports.DataValuesImportError: 1 chunk(s) (6 rows) of values.csv could not be sent to https://dhis2.example.org and were not written; the other chunks were: 4 imported, 0 updated, 0 ignored, 0 rejected. Re-run the import: it is safe (DHIS2 upserts).
        """
        if not self.failed_chunks:
            return
        raise DataValuesImportError(
            f"{len(self.failed_chunks)} chunk(s) ({self.not_sent} rows) of {source} could "
            f"not be sent to {base_url} and were not written; the other chunks were: "
            f"{self.imported} imported, {self.updated} updated, {self.ignored} ignored, "
            f"{self.rejected} rejected. Re-run the import: it is safe (DHIS2 upserts)."
        )


class DataValuesImportError(RuntimeError):
    """Some chunks of an import could not be sent; the others were written.

    Raised by `DataValuesImportResult.raise_for_failed_chunks`.
    """


def _conflicts_of(
    summary: ImportSummary,
    chunk: int,
    offset: int,
    rows: Sequence[Mapping[str, Any]],
    numbers: Sequence[int],
) -> tuple[list[DataValueConflict], set[int]]:
    conflicts: list[DataValueConflict] = []
    rejected = {offset + i for i in summary.rejected_indexes}
    for conflict in summary.conflicts:
        indexes: list[int | None] = list(conflict.indexes) or [None]
        for index in indexes:
            known = index is not None and offset + index < len(rows)
            source = rows[offset + index] if known and index is not None else {}
            conflicts.append(
                DataValueConflict(
                    row=numbers[offset + index] if known and index is not None else None,
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
    numbers: Sequence[int],
    *,
    dry_run: bool,
    chunk_size: int,
    import_strategy: str,
    async_job: bool,
    slot: SlotFactory | None,
    chunk_attempts: int,
    logger: _Logger,
    tracker: ChunkTracker,
) -> DataValuesImportResult:
    started = time.perf_counter()
    tracker.start("dry run" if dry_run else "commit")
    offsets = list(range(0, len(rows), chunk_size))
    result = DataValuesImportResult(dry_run=dry_run, rows=len(rows), chunks=len(offsets))
    rejected: set[int] = set()

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
                    numbers[offset],
                    numbers[offset + len(chunk) - 1],
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
            conflicts, bad = _conflicts_of(summary, number, offset, rows, numbers)
            result.conflicts.extend(conflicts)
            rejected.update(bad)
            tracker.advance(len(chunk))
            return
        assert error is not None
        result.not_sent += len(chunk)
        result.failed_chunks.append(
            ChunkFailure(
                chunk=number,
                first_row=numbers[offset],
                rows=len(chunk),
                error=type(error).__name__,
                message=error.dhis2_message or error.message,
            )
        )
        tracker.advance(len(chunk))

    await run_queue(
        range(len(offsets)),
        send,
        workers=client.settings.max_concurrency,
        slot=slot,
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


async def _data_elements(
    client: AsyncDhis2Client, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The rows' data elements with their value types and names (one batched read)."""
    ids = sorted({str(r["dataElement"]) for r in rows if r.get("dataElement")})
    if not ids:
        return []
    return await client.fetch_metadata_by_values(
        "dataElements", "id", ids, fields="id,name,valueType"
    )


def _conflicts(result: DataValuesImportResult) -> list[DataValueConflict]:
    check = result.dry_run_check
    return result.conflicts + (check.conflicts if check is not None else [])


async def _name_conflicts(
    client: AsyncDhis2Client,
    conflicts: Sequence[DataValueConflict],
    element_names: Mapping[str, str],
    logger: _Logger,
) -> None:
    """Set the names of the conflicts' data elements and org units, and the org units' paths.

    At most one batched read per kind (split to the URL budget by the client); a
    failed read is logged and the conflicts keep their UIDs: names are for people,
    they must never fail an import that DHIS2 already answered.
    """
    elements = sorted({c.data_element for c in conflicts if c.data_element} - set(element_names))
    units = sorted({c.org_unit for c in conflicts if c.org_unit})
    names = dict(element_names)
    where: dict[str, str] = {}
    try:
        if elements:
            records = await client.fetch_metadata_by_values(
                "dataElements", "id", elements, fields="id,name"
            )
            names.update({str(r["id"]): str(r["name"]) for r in records if r.get("name")})
        if units:
            records = await client.fetch_metadata_by_values(
                "organisationUnits", "id", units, fields="id,name,ancestors[id,name]"
            )
            for record in records:
                if not record.get("name"):
                    continue
                names[str(record["id"])] = str(record["name"])
                ancestors = record.get("ancestors") or []
                where[str(record["id"])] = " / ".join(
                    str(a.get("name") or a.get("id")) for a in ancestors if isinstance(a, dict)
                )
    except Exception as error:  # noqa: BLE001 - any failure: keep the UIDs, keep the import
        logger.warning("Could not read the names of the conflicts' objects: %s", error)
    for conflict in conflicts:
        if conflict.data_element:
            conflict.data_element_name = names.get(conflict.data_element)
        if conflict.org_unit:
            conflict.org_unit_name = names.get(conflict.org_unit)
            conflict.org_unit_path = where.get(conflict.org_unit)


async def aimport_data_values(
    client: AsyncDhis2Client,
    rows: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool = True,
    dry_run_first: bool = True,
    chunk_size: int = 5_000,
    import_strategy: str = "CREATE_AND_UPDATE",
    async_job: bool = False,
    slot: SlotFactory | None = None,
    chunk_attempts: int = 3,
    check_value_types: bool = True,
    on_duplicate: DuplicatePolicy = "error",
    source: str = "input",
    logger: _Logger | None = None,
    on_progress: ProgressCallback | None = None,
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
        slot: Makes the slot of a shared budget held per chunk (the tasks pass
            `prefect_dhis2.host_limit.host_slot` of the host's limit); None = only
            the client's `max_concurrency`.
        chunk_attempts: Attempts per chunk when its request fails (after the
            client's own retries); safe because data value imports are upserts.
        check_value_types: Read the data elements' value types and check the
            values of numeric elements before importing.
        on_duplicate: Rows that give one data value key different values: `error`
            (the default: refused before any request, naming the rows), `first` or
            `last` (keep that one). Identical repeats are sent once in every case.
        source: Name of the input, for error messages.
        logger: Where failed chunk attempts and progress lines are logged (the
            tasks pass the run logger); the `prefect_dhis2` logger when None.
        on_progress: Called with a `ChunkProgress` after each chunk (the tasks
            pass a Prefect progress artifact); the dry run's and the commit's
            chunks are one plan.

    Returns:
        The summed result.

    Raises:
        InvalidDataValuesError: Before any write, when rows are invalid.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            result = await aimport_data_values(client, rows, dry_run=False)
        ```
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    normalised = [normalise_row(r) for r in rows]
    validate_data_value_rows(normalised, source)
    kept, numbers = resolve_duplicate_values(normalised, on_duplicate, source)
    log = logger or _LOGGER
    element_names: dict[str, str] = {}
    if check_value_types:
        elements = await _data_elements(client, kept)
        types = {str(r["id"]): str(r.get("valueType", "")) for r in elements if "id" in r}
        validate_value_types(normalised, types, source)
        element_names = {str(r["id"]): str(r["name"]) for r in elements if r.get("name")}
    chunks = -(-len(kept) // chunk_size)
    steps = 1 if dry_run or not dry_run_first else 2
    tracker = ChunkTracker(
        chunks * steps, label="Data value import", logger=log, on_progress=on_progress
    )
    options: dict[str, Any] = {
        "chunk_size": chunk_size,
        "import_strategy": import_strategy,
        "async_job": async_job,
        "slot": slot,
        "chunk_attempts": chunk_attempts,
        "logger": log,
        "tracker": tracker,
    }
    check: DataValuesImportResult | None = None
    if dry_run or dry_run_first:
        check = await _import_pass(client, kept, numbers, dry_run=True, **options)
        _count_input(check, len(normalised))
        if dry_run:
            await _name_conflicts(client, check.conflicts, element_names, log)
            return check
    result = await _import_pass(client, kept, numbers, dry_run=False, **options)
    _count_input(result, len(normalised))
    result.dry_run_check = check
    if check is not None:
        _reconcile(result, check)
    await _name_conflicts(client, _conflicts(result), element_names, log)
    return result


def _count_input(result: DataValuesImportResult, rows: int) -> None:
    result.duplicates_dropped = rows - result.rows
    result.rows = rows


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
