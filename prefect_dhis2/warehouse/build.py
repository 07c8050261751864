"""The warehouse refresh: dimensions, facts, checks and the index in one transaction.

Pure: no Prefect. `abuild_star_schema` takes a live `AsyncDhis2Client` and a warehouse
path and refreshes the star schema:

1. Open the warehouse and check it (DuckDB, not locked, this schema version, this
   instance) and look the data items up (unknown ones fail here, before any
   analytics request).
2. In one transaction: upsert the dimensions (org units page by page, data items,
   category option combos) with stable surrogate keys (looked up by UID; new ones
   after the largest), stream the analytics facts in Arrow batches, then delete the
   older facts of exactly the extracted periods and data items, so a refresh replaces
   those periods and adds nothing twice.
3. Run the integrity checks and the composite index; commit only when all passed.
   Any failure (the server, a check, an interruption) rolls the whole refresh back,
   so the previous warehouse stays readable and unchanged.

`export_star_schema_parquet` then writes the same tables as Parquet (facts partitioned
by period) to a temporary folder that replaces the previous export in one rename.

Examples:
    ```python
    async with credentials.get_async_client() as client:
        result = await abuild_star_schema(client, "dhis2_warehouse.duckdb")
    print(result.rows, result.periods_added)
    ```
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from prefect_dhis2.analytics.extract import DEFAULT_MAX_ROWS, AnalyticsExtractSummary
from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.org_units.hierarchy import afetch_org_unit_levels, level_names
from prefect_dhis2.uids import is_valid_uid
from prefect_dhis2.warehouse.backend import (
    DuckDbBackend,
    WarehouseError,
    check_warehouse_path,
    swap_directory,
)
from prefect_dhis2.warehouse.checks import IntegrityCheck, run_integrity_checks
from prefect_dhis2.warehouse.composite import (
    CompositeIndexResult,
    CompositeIndexSpec,
    check_composite,
    load_composite_index,
)
from prefect_dhis2.warehouse.dimensions import (
    afetch_category_option_combos,
    afetch_data_dimension,
    aiter_org_unit_rows,
    check_data_items,
    period_row,
)
from prefect_dhis2.warehouse.extract import DEFAULT_BATCH_ROWS, aiter_fact_batches
from prefect_dhis2.warehouse.schema import SCHEMA_VERSION, TABLES

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client
    from prefect_dhis2.work_queue import SlotFactory

__all__ = [
    "DEFAULT_DATA_ITEMS",
    "DEFAULT_PERIODS",
    "DEFAULT_WAREHOUSE",
    "ParquetExportResult",
    "StarSchemaResult",
    "abuild_star_schema",
    "export_star_schema_parquet",
    "star_schema_query",
]

Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]
_T = TypeVar("_T")

DEFAULT_DATA_ITEMS = (
    "fbfJHSPpUQD",  # ANC 1st visit
    "cYeuwXTCPkU",  # ANC 2nd visit
    "Jtf34kNZhzP",  # ANC 3rd visit
    "hfdmMSPBgLG",  # ANC 4th or more visits
    "Uvn6LCg7dVU",  # ANC 1 Coverage
    "OdiHJayrsKo",  # ANC 2 Coverage
    "sB79w2hiLp8",  # ANC 3 Coverage
    "ReUHfIn0pTQ",  # ANC 1-3 Dropout Rate
    "s46m5MS0hxu",  # BCG doses given
    "fClA2Erf6IO",  # Penta1 doses given
    "n6aMJNLdvep",  # Penta3 doses given
    "YtbsuPPo010",  # Measles doses given
    "FbKK4ofIv5R",  # Measles Coverage <1y
)
"""ANC and immunisation data elements and indicators, with the UIDs of DHIS2's Sierra
Leone demo database (play.dhis2.org); the emulator carries the same UIDs."""

DEFAULT_PERIODS = ("LAST_12_MONTHS",)
DEFAULT_WAREHOUSE = "dhis2_warehouse.duckdb"
"""The warehouse file when none is given (in the working directory)."""


class ParquetExportResult(BaseModel):
    """The Parquet copy of the warehouse.

    Attributes:
        directory: The folder (one `<table>.parquet` per table; `fact_analytics/` as
            hive partitions `period=<iso>/`).
        files: Path per table.
    """

    directory: str
    files: dict[str, str] = Field(default_factory=dict)


class StarSchemaResult(BaseModel):
    """What one refresh did to the warehouse.

    Attributes:
        warehouse: The DuckDB file.
        schema_version: The schema version of the tables.
        rows: Rows per table after the refresh.
        facts_loaded: Facts written by this refresh.
        facts_replaced: Older facts of the extracted periods and data items deleted.
        periods_replaced: Extracted periods that had facts before (now replaced).
        periods_added: Extracted periods new to the warehouse.
        keys_added: New surrogate keys per dimension.
        checks: The integrity checks (all passed, or the refresh was rolled back).
        composite: The composite index, when one was asked for.
        extract: How the analytics extraction went (shards, duration), without rows.
        parquet: The Parquet copy written after the commit (None when not asked for).
        duration_s: Wall time of the refresh.
    """

    warehouse: str
    schema_version: int = SCHEMA_VERSION
    rows: dict[str, int]
    facts_loaded: int
    facts_replaced: int
    periods_replaced: list[str]
    periods_added: list[str]
    keys_added: dict[str, int]
    checks: list[IntegrityCheck]
    composite: CompositeIndexResult | None = None
    extract: AnalyticsExtractSummary | None = None
    parquet: ParquetExportResult | None = None
    duration_s: float = 0.0


def star_schema_query(
    data_items: Sequence[str] | None = None,
    org_units: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    *,
    category_option_combos: bool = False,
    max_level: int | None = None,
) -> AnalyticsQuery:
    """The analytics request of a refresh, validated before any request.

    Args:
        data_items: dx items (default `DEFAULT_DATA_ITEMS`).
        org_units: ou items (default every level: `LEVEL-1` ... `LEVEL-<max_level>`;
            `LEVEL-1` alone stands for them until the levels are known).
        periods: ISO or relative periods (default `LAST_12_MONTHS`).
        category_option_combos: Add the `co` dimension.
        max_level: The deepest level of the instance, for the default org units.

    Raises:
        ValueError: For an invalid item, before any request.

    Examples:
        >>> star_schema_query(max_level=2).to_params()[1]
        ('dimension', 'ou:LEVEL-1;LEVEL-2')
    """
    items = check_data_items(list(data_items or DEFAULT_DATA_ITEMS))
    units = list(org_units) if org_units else [f"LEVEL-{n}" for n in range(1, (max_level or 1) + 1)]
    return AnalyticsQuery(
        data_items=items,
        org_units=units,
        periods=list(periods or DEFAULT_PERIODS),
        dimensions={"co": []} if category_option_combos else {},
        include_num_den=True,
    )


def _begin(backend: DuckDbBackend, max_level: int) -> None:
    backend.begin()
    backend.ensure_schema(max_level)


def _loaded_at(backend: DuckDbBackend) -> datetime:
    """This refresh's timestamp: now, and always after every earlier refresh's."""
    now = datetime.now(UTC).replace(tzinfo=None)
    last = backend.scalar("SELECT max(loaded_at) FROM fact_analytics")
    if last is not None and last >= now:
        now = last + timedelta(microseconds=1)
    return now


class _DatabaseThread:
    """Runs the backend's calls on one worker thread, in order, off the event loop.

    DuckDB releases the GIL while it works, so the analytics requests and the parsing
    of their answers go on while a batch is inserted; one thread keeps the calls on
    the connection strictly sequential.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse-db")

    def submit(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        return asyncio.wrap_future(self._executor.submit(fn, *args))

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await self.submit(fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


async def _check_org_units(client: AsyncDhis2Client, org_units: Sequence[str] | None) -> None:
    """Explicit org unit UIDs must exist: one small lookup, before any analytics request."""
    uids = [
        u
        for u in org_units or ()
        if not u.startswith(("LEVEL-", "OU_GROUP-", "USER_")) and is_valid_uid(u)
    ]
    unknown = [u for u in (org_units or ()) if u not in uids and not u.startswith(
        ("LEVEL-", "OU_GROUP-", "USER_"))]  # fmt: skip
    if uids:
        found: set[str] = set()
        for start in range(0, len(uids), 100):
            chunk = uids[start : start + 100]
            records = await client.fetch_metadata(
                "organisationUnits", fields="id", filters=[f"id:in:[{','.join(chunk)}]"]
            )
            found.update(str(r["id"]) for r in records)
        unknown += [u for u in uids if u not in found]
    if unknown:
        raise ValueError(
            f"Unknown org unit(s) on {client.base_url}: {', '.join(unknown)}; "
            "nothing was extracted."
        )


class _Loader:
    """The facts side of a refresh: period rows as they appear, then the batch."""

    def __init__(self, backend: DuckDbBackend) -> None:
        self.backend = backend
        self._loaded_at: datetime | None = None
        self.periods_added = 0
        self._known_periods: set[str] = set()

    @property
    def loaded_at(self) -> datetime:
        if self._loaded_at is None:  # on the database thread, inside the transaction
            self._loaded_at = _loaded_at(self.backend)
        return self._loaded_at

    def periods(self, isos: Sequence[str]) -> None:
        new = [p for p in isos if p and p not in self._known_periods]
        if not new:
            return
        known = self.backend.known("dim_period", new)
        self.periods_added += self.backend.upsert_dimension(
            "dim_period", [period_row(p) for p in sorted(set(new) - known)]
        )
        self._known_periods.update(new)

    def batch(self, batch: pa.RecordBatch) -> int:
        self.periods(pc.unique(batch.column("pe")).to_pylist())
        return self.backend.insert_facts(batch, self.loaded_at)


def _finish(
    backend: DuckDbBackend,
    loader: _Loader,
    extracted: list[str],
    data_items: list[str],
    composite: CompositeIndexSpec | None,
) -> tuple[set[str], int, CompositeIndexResult | None, list[IntegrityCheck], dict[str, int]]:
    """After the last batch: replaced facts, the index, the checks, the counts (one thread)."""
    loaded_at = loader.loaded_at
    loader.periods(extracted)
    had_facts = {
        r[0]
        for r in backend.rows(
            "SELECT DISTINCT p.iso FROM fact_analytics f JOIN dim_period p USING (period_key) "
            "WHERE f.loaded_at < ? AND list_contains(?, p.iso)",
            [loaded_at, extracted],
        )
    }
    replaced = backend.delete_replaced_facts(extracted, data_items, loaded_at)
    result_composite = (
        load_composite_index(backend, composite, extracted) if composite is not None else None
    )
    checks = run_integrity_checks(backend)
    rows = {
        t: int(backend.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES if t != "warehouse_meta"
    }
    backend.execute("DELETE FROM warehouse_meta WHERE key = 'last_refresh'")
    backend.execute(
        "INSERT INTO warehouse_meta VALUES ('last_refresh', ?)", [loaded_at.isoformat()]
    )
    return had_facts, replaced, result_composite, checks, rows


async def _load(
    client: AsyncDhis2Client,
    backend: DuckDbBackend,
    db: _DatabaseThread,
    *,
    query_items: tuple[list[str], list[str] | None, list[str]],
    category_option_combos: bool,
    composite: CompositeIndexSpec | None,
    batch_rows: int,
    log: Logger,
    options: dict[str, Any],
) -> StarSchemaResult:
    data_items, org_units, periods = query_items
    started = time.perf_counter()
    # Everything that can fail on bad input, before any analytics request (concurrently).
    data, levels, _ = await asyncio.gather(
        afetch_data_dimension(client, data_items),
        afetch_org_unit_levels(client),
        _check_org_units(client, org_units),
    )
    names = level_names(levels)
    max_level = max(names or {1: ""})
    query = star_schema_query(
        data_items,
        org_units,
        periods,
        category_option_combos=category_option_combos,
        max_level=max_level,
    )
    # The transaction and the schema are set up on the database thread while the
    # extraction starts (its first requests need nothing from the warehouse).
    setup = db.submit(_begin, backend, max_level)
    added = {
        table: 0
        for table in ("dim_org_unit", "dim_period", "dim_data", "dim_category_option_combo")
    }

    async def dimensions() -> None:
        # The org unit tree and the other dimensions load while the facts are fetched.
        await setup
        async for page in aiter_org_unit_rows(client, names):
            added["dim_org_unit"] += await db.run(backend.upsert_dimension, "dim_org_unit", page)
        added["dim_data"] = await db.run(backend.upsert_dimension, "dim_data", data)
        if category_option_combos:
            combos = await afetch_category_option_combos(client)
            added["dim_category_option_combo"] = await db.run(
                backend.upsert_dimension, "dim_category_option_combo", combos
            )

    loader = _Loader(backend)
    lookups_s = time.perf_counter() - started
    dimension_task = asyncio.ensure_future(dimensions())
    facts = 0
    inserting: asyncio.Future[int] | None = None
    batches = aiter_fact_batches(client, query, batch_rows=batch_rows, logger=log, **options)
    try:
        async for batch in batches:
            if not dimension_task.done():
                await dimension_task  # facts look their keys up in the dimensions
            if inserting is not None:
                facts += await inserting  # at most one batch waits while one is inserted
            inserting = db.submit(loader.batch, batch)
        await dimension_task
        if inserting is not None:
            facts += await inserting
            inserting = None
    finally:
        with contextlib.suppress(BaseException):
            await setup  # the rollback comes after it on the same thread
        if not dimension_task.done():
            dimension_task.cancel()
        with contextlib.suppress(BaseException):
            await dimension_task
        if inserting is not None:
            with contextlib.suppress(BaseException):
                await inserting
    if facts == 0:
        raise WarehouseError(
            f"The extraction from {client.base_url} returned no rows (dx={list(query.data_items)}, "
            f"ou={list(query.org_units)}, pe={list(query.periods)}): nothing to load; "
            "the warehouse is unchanged."
        )
    extracted = batches.periods
    extracted_at = time.perf_counter()
    had_facts, replaced, result_composite, checks, rows = await db.run(
        _finish, backend, loader, extracted, list(query.data_items), composite
    )
    added["dim_period"] = loader.periods_added
    log.info(
        "Warehouse refresh: %d facts loaded, %d replaced (look-ups %.2f s, extraction and "
        "load %.2f s, checks %.2f s)",
        facts,
        replaced,
        lookups_s,
        extracted_at - started - lookups_s,
        time.perf_counter() - extracted_at,
    )
    return StarSchemaResult(
        warehouse=backend.location,
        rows=rows,
        facts_loaded=facts,
        facts_replaced=replaced,
        periods_replaced=sorted(p for p in extracted if p in had_facts),
        periods_added=sorted(p for p in extracted if p not in had_facts),
        keys_added=added,
        checks=checks,
        composite=result_composite,
        extract=batches.summary,
    )


async def abuild_star_schema(
    client: AsyncDhis2Client,
    warehouse: str | os.PathLike[str] = DEFAULT_WAREHOUSE,
    data_items: Sequence[str] | None = None,
    org_units: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    *,
    category_option_combos: bool = False,
    composite: CompositeIndexSpec | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    max_rows: int = DEFAULT_MAX_ROWS,
    slot: SlotFactory | None = None,
    logger: Logger | None = None,
    parquet_dir: str | os.PathLike[str] | None = None,
) -> StarSchemaResult:
    """Refresh the star schema in `warehouse` from DHIS2 analytics, in one transaction.

    Args:
        client: A live async client.
        warehouse: The DuckDB file (created when missing).
        data_items: dx items (default `DEFAULT_DATA_ITEMS`).
        org_units: ou items (default every level of the instance).
        periods: ISO or relative periods (default `LAST_12_MONTHS`).
        category_option_combos: Add the `co` dimension (facts per category option
            combo; DHIS2 answers indicators without it, so give data elements).
        composite: The composite index to compute, or None.
        batch_rows: Facts per Arrow batch loaded.
        max_rows: Row budget per analytics shard.
        slot: The host's concurrency slot factory (see `afetch_analytics_table`).
        logger: Where progress goes.
        parquet_dir: When given, the Parquet copy of the committed warehouse is
            written there (see `export_star_schema_parquet`), from the same connection.

    Returns:
        What the refresh did.

    Raises:
        ValueError: For bad input (invalid or unknown data items or org units,
            composite weights for items not extracted), before any analytics request.
        WarehouseError: For a warehouse that cannot be used, an empty extraction or a
            failed integrity check (`WarehouseIntegrityError`); the previous
            warehouse is unchanged.
        AnalyticsExtractionError: When some shards failed; nothing was committed.
    """
    started = time.perf_counter()
    log = logger or logging.getLogger("prefect_dhis2.warehouse")
    query = star_schema_query(
        data_items, org_units, periods, category_option_combos=category_option_combos
    )
    if composite is not None:
        check_composite(composite, query.data_items)
    path = check_warehouse_path(warehouse)
    if parquet_dir is not None:
        check_warehouse_path(Path(parquet_dir) / "probe")  # the folder must be writable
    db = _DatabaseThread()
    try:
        backend = await db.run(partial(DuckDbBackend.open, path, instance=client.base_url))
    except BaseException:
        db.close()
        raise
    try:
        try:
            result = await _load(
                client,
                backend,
                db,
                query_items=(list(query.data_items), list(org_units) if org_units else None,
                             list(query.periods)),
                category_option_combos=category_option_combos,
                composite=composite,
                batch_rows=batch_rows,
                log=log,
                options={"max_rows": max_rows, "slot": slot},
            )  # fmt: skip
        except BaseException:
            await asyncio.shield(db.run(backend.rollback))
            raise
        await db.run(backend.commit)
        if parquet_dir is not None:
            result.parquet = await db.run(_export, backend, Path(parquet_dir))
    finally:
        await asyncio.shield(db.run(backend.close))
        db.close()
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def export_star_schema_parquet(
    warehouse: str | os.PathLike[str], parquet_dir: str | os.PathLike[str]
) -> ParquetExportResult:
    """Write every table of the warehouse as Parquet, replacing `parquet_dir` at once.

    The files are written to a temporary folder next to `parquet_dir`, which takes its
    place in one rename only when every table is written; a failed export leaves the
    previous one in place. Dimensions are `<table>.parquet`; the facts are hive
    partitions `fact_analytics/period=<iso>/` (with a `period` column), so pandas,
    polars or Spark read them without DuckDB.

    Raises:
        WarehouseError: If the warehouse cannot be opened or the folder written.
    """
    target = Path(parquet_dir)
    check_warehouse_path(target / "probe")  # the folder must be writable
    with DuckDbBackend.open(Path(warehouse), read_only=True) as backend:
        return _export(backend, target)


def _export(backend: DuckDbBackend, target: Path) -> ParquetExportResult:
    """Write the Parquet copy into a staging folder next to `target`, then swap it in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        files = backend.export_parquet(staging)
        swap_directory(staging, target)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ParquetExportResult(
        directory=str(target),
        files={table: str(target / Path(path).name) for table, path in files.items()},
    )
