"""The storage seam of the warehouse: one protocol, DuckDB behind it today.

Pure: no Prefect. `WarehouseBackend` is everything the loader asks of a database:
open and check the file, one transaction per refresh, the schema, dimension upserts
with stable surrogate keys, fact batches, the integrity checks and the Parquet
export. `DuckDbBackend` is the embedded default; a PostgreSQL backend implements the
same protocol over the same schema (`prefect_dhis2.warehouse.schema`) and checks
(`prefect_dhis2.warehouse.checks`, plain SQL).

Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.duckdb"
    >>> with DuckDbBackend.open(path, instance="https://dhis2.example.org") as db:
    ...     db.begin(); db.ensure_schema(max_level=2); db.commit()
    ...     db.scalar("SELECT value FROM warehouse_meta WHERE key = 'schema_version'")
    '1'
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import duckdb
import pyarrow as pa

from prefect_dhis2.warehouse.schema import (
    DIMENSIONS,
    SCHEMA_VERSION,
    TABLES,
    TOTAL_COC_UID,
    comment_statements,
    create_statements,
    table_columns,
    view_statement,
)

__all__ = ["DuckDbBackend", "WarehouseBackend", "WarehouseError", "check_warehouse_path"]


class WarehouseError(Exception):
    """The warehouse cannot be used or loaded (the previous warehouse is left untouched)."""


class WarehouseBackend(Protocol):
    """What the loader needs from a database (DuckDB now, PostgreSQL later)."""

    location: str

    def begin(self) -> None:
        """Start the refresh's one transaction."""

    def commit(self) -> None:
        """Make the refresh visible."""

    def rollback(self) -> None:
        """Drop everything done since `begin`."""

    def close(self) -> None:
        """Release the database."""

    def ensure_schema(self, max_level: int) -> None:
        """Create what is missing (tables, level columns, view, comments) and record the
        schema version and instance."""

    def upsert_dimension(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert new rows (new keys after the largest) and update known ones, matched
        by `uid` (`iso` for periods); returns how many keys were added."""

    def known(self, table: str, natural_keys: Sequence[str]) -> set[str]:
        """The natural keys of `natural_keys` already in the dimension."""

    def insert_facts(self, batch: pa.RecordBatch, loaded_at: datetime) -> int:
        """Append one batch of `FACT_BATCH_SCHEMA` as facts, keys looked up by UID."""

    def insert_composite(
        self,
        period: str,
        org_units: Sequence[str],
        scores: Sequence[float],
        ranks: Sequence[int],
        components: Sequence[str],
    ) -> None:
        """Append the composite rows of `period` (org units by UID), in one statement."""

    def delete_replaced_facts(
        self, periods: Sequence[str], data_items: Sequence[str], loaded_at: datetime
    ) -> int:
        """Delete facts of these periods and data items loaded before `loaded_at`."""

    def scalar(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """The first column of the first row of a query."""

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run a statement."""

    def export_parquet(self, directory: Path) -> dict[str, str]:
        """Write every table as Parquet under `directory` (facts partitioned by period)."""


def check_warehouse_path(path: str | os.PathLike[str]) -> Path:
    """Check that the warehouse file can be opened and written, before any request.

    A missing file is fine when its folder can be written; an existing one must be a
    DuckDB warehouse of this schema version, not locked by another process.

    Raises:
        WarehouseError: Naming the file and what is wrong with it.

    Examples:
        >>> check_warehouse_path("/proc/no/such/dir/w.duckdb")
        Traceback (most recent call last):
        ...
        prefect_dhis2.warehouse.backend.WarehouseError: Cannot write the warehouse /proc/no/such/dir/w.duckdb: ...
    """
    target = Path(path)
    if target.is_dir():
        raise WarehouseError(f"The warehouse path {target} is a directory; give a file name.")
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".warehouse-write-check-"):
            pass
    except OSError as exc:
        raise WarehouseError(
            f"Cannot write the warehouse {target}: {exc.strerror or exc} (choose a writable "
            "folder with `warehouse=`)."
        ) from None
    if target.exists():
        DuckDbBackend.open(target, read_only=True).close()
    return target


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseError(
                f"The warehouse {path} is in use by another process (DuckDB allows one "
                "writer): close it there (a duckdb shell, a notebook) and run again. "
                f"DuckDB said: {text.splitlines()[0]}"
            ) from None
        raise WarehouseError(
            f"{path} is not a DuckDB database file and is left untouched: choose another "
            f"`warehouse=` path. DuckDB said: {text.splitlines()[0]}"
        ) from None
    except duckdb.Error as exc:
        raise WarehouseError(f"Cannot open the warehouse {path}: {exc}") from None


class DuckDbBackend:
    """The warehouse in one DuckDB file.

    Open it with `DuckDbBackend.open(path)`; it is a context manager that closes the
    connection (rolling back an open transaction).

    Attributes:
        path: The DuckDB file.
        location: The same, as a string (what reports show).
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path, instance: str | None):
        self.connection = connection
        self.path = path
        self.location = str(path)
        self._instance = instance
        self._in_transaction = False
        self._types: dict[str, dict[str, str]] = {}

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, instance: str | None = None, read_only: bool = False
    ) -> DuckDbBackend:
        """Open (or create) the warehouse and check its schema version and instance.

        Raises:
            WarehouseError: For a file that is not DuckDB, is locked by another
                process, was built with another schema version or from another instance.
        """
        target = Path(path)
        backend = cls(_connect(target, read_only), target, instance)
        try:
            backend._check_meta()
        except BaseException:
            backend.close()
            raise
        return backend

    def _check_meta(self) -> None:
        tables = {r[0] for r in self.rows("SELECT table_name FROM information_schema.tables")}
        if "warehouse_meta" not in tables:
            if tables & set(TABLES):
                raise WarehouseError(
                    f"{self.path} holds warehouse tables but no warehouse_meta: it was not "
                    "built by prefect-dhis2 and is left untouched."
                )
            return
        meta = dict(self.rows("SELECT key, value FROM warehouse_meta"))
        version = meta.get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise WarehouseError(
                f"The warehouse {self.path} was built with schema version {version}, this "
                f"prefect-dhis2 writes version {SCHEMA_VERSION}: build a new warehouse "
                "(another `warehouse=` path); the existing one is left untouched."
            )
        built_from = meta.get("instance")
        if self._instance and built_from and built_from != self._instance:
            raise WarehouseError(
                f"The warehouse {self.path} holds data of {built_from}, not {self._instance}: "
                "surrogate keys of two instances must not mix; use another `warehouse=` path."
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transaction --------------------------------------------------------------------
    def begin(self) -> None:
        self.execute("BEGIN TRANSACTION")
        self._in_transaction = True

    def commit(self) -> None:
        self.execute("COMMIT")
        self._in_transaction = False
        self.execute("CHECKPOINT")  # the file alone holds the refresh

    def rollback(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            self.execute("ROLLBACK")

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            self.connection.close()

    # -- queries ------------------------------------------------------------------------
    def scalar(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        rows = self.connection.execute(sql, list(parameters)).fetchall()
        return rows[0][0] if rows else None

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(parameters)).fetchall()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        # Fetch the (row count) result so the connection is free for the next statement.
        self.connection.execute(sql, list(parameters)).fetchall()

    # -- schema -------------------------------------------------------------------------
    def _column_types(self, table: str) -> dict[str, str]:
        """Column name to DuckDB type, in table order (cached: a refresh upserts often)."""
        cached = self._types.get(table)
        if cached is None:
            cached = dict(
                self.rows(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                )
            )
            if cached:  # a table not created yet is looked up again later
                self._types[table] = cached
        return cached

    def _columns(self, table: str) -> list[str]:
        return list(self._column_types(table))

    def ensure_schema(self, max_level: int) -> None:
        self._types.clear()  # columns may be added below
        existing = self._columns("dim_org_unit")
        if existing:
            # A deeper tree than last time: add the missing level pairs.
            levels = sum(1 for c in existing if c.startswith("level_") and c.endswith("_uid"))
            max_level = max(max_level, levels)
            for column in table_columns("dim_org_unit", max_level):
                if column.name not in existing:
                    self.execute(
                        f'ALTER TABLE dim_org_unit ADD COLUMN "{column.name}" {column.type}'
                    )
        for statement in create_statements(max_level):
            self.execute(statement)
        self.execute(view_statement(max_level))
        self._types.clear()
        for statement in comment_statements(max_level):
            self.execute(statement)
        meta = {"schema_version": str(SCHEMA_VERSION)}
        if self._instance:
            meta["instance"] = self._instance
        for key, value in meta.items():
            self.execute("DELETE FROM warehouse_meta WHERE key = ?", [key])
            self.execute("INSERT INTO warehouse_meta VALUES (?, ?)", [key, value])
        if not self.scalar("SELECT count(*) FROM dim_category_option_combo WHERE coc_key = 0"):
            self.execute(
                "INSERT INTO dim_category_option_combo VALUES (0, ?, 'Total')", [TOTAL_COC_UID]
            )

    def max_level(self) -> int:
        """The number of level pairs of `dim_org_unit` (0 before the first load)."""
        return sum(
            1
            for c in self._columns("dim_org_unit")
            if c.startswith("level_") and c.endswith("_uid")
        )

    # -- dimensions ---------------------------------------------------------------------
    def known(self, table: str, natural_keys: Sequence[str]) -> set[str]:
        column = TABLES[table].natural_key[0]
        if not natural_keys:
            return set()
        stage = pa.table({"k": pa.array(list(natural_keys), pa.string())})
        self.connection.register("_known_stage", stage)
        try:
            found = self.rows(f"SELECT k FROM _known_stage JOIN {table} ON {column} = k")
        finally:
            self.connection.unregister("_known_stage")
        return {r[0] for r in found}

    def upsert_dimension(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        if table not in DIMENSIONS:
            raise ValueError(f"{table} is not a dimension of the warehouse")
        if not rows:
            return 0
        spec = TABLES[table]
        key, natural = spec.surrogate_key, spec.natural_key[0]
        types = self._column_types(table)
        columns = [c for c in types if c != key]
        stage = pa.Table.from_pylist(
            [{**{c: row.get(c) for c in columns}, "_ord": i} for i, row in enumerate(rows)]
        )
        name = f"_stage_{uuid.uuid4().hex}"
        self.connection.register(name, stage)
        try:
            cast = {c: f'CAST(s."{c}" AS {types[c]})' for c in columns}
            count, start = self.rows(f"SELECT count(*), coalesce(max({key}), 0) FROM {table}")[0]
            updates = ", ".join(f'"{c}" = {cast[c]}' for c in columns if c != natural)
            if updates and count:  # an empty dimension (a first load) has nothing to update
                self.execute(
                    f"UPDATE {table} SET {updates} FROM {name} s WHERE {table}.{natural} = s.{natural}"
                )
            new_rows = (
                f"FROM {name} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {table} t WHERE t.{natural} = s.{natural})"
            )
            inserted = self.scalar(f"SELECT count(*) {new_rows}") if count else len(stage)
            # New keys follow the largest one, in the order the rows came (tree order).
            names = ", ".join(f'"{c}"' for c in columns)
            self.execute(
                f"INSERT INTO {table} ({key}, {names}) "
                f"SELECT {start} + row_number() OVER (ORDER BY s._ord), "
                f"{', '.join(cast[c] for c in columns)} {new_rows}"
            )
        finally:
            self.connection.unregister(name)
        return int(inserted)

    # -- facts --------------------------------------------------------------------------
    def insert_facts(self, batch: pa.RecordBatch, loaded_at: datetime) -> int:
        name = f"_facts_{uuid.uuid4().hex}"
        self.connection.register(name, pa.Table.from_batches([batch]))
        try:
            # LEFT JOINs: a fact whose dimension row is missing gets a NULL key,
            # which the integrity checks report (instead of dropping it silently).
            self.execute(
                "INSERT INTO fact_analytics SELECT d.data_key, o.org_unit_key, p.period_key, "
                "c.coc_key, TRY_CAST(b.value AS DOUBLE), TRY_CAST(b.numerator AS DOUBLE), "
                f"TRY_CAST(b.denominator AS DOUBLE), ? FROM {name} b "
                "LEFT JOIN dim_data d ON d.uid = b.dx "
                "LEFT JOIN dim_org_unit o ON o.uid = b.ou "
                "LEFT JOIN dim_period p ON p.iso = b.pe "
                f"LEFT JOIN dim_category_option_combo c ON c.uid = coalesce(b.co, '{TOTAL_COC_UID}')",
                [loaded_at],
            )
        finally:
            self.connection.unregister(name)
        return int(batch.num_rows)

    def insert_composite(
        self,
        period: str,
        org_units: Sequence[str],
        scores: Sequence[float],
        ranks: Sequence[int],
        components: Sequence[str],
    ) -> None:
        stage = pa.table(
            {
                "uid": pa.array(list(org_units), pa.string()),
                "score": pa.array(list(scores), pa.float64()),
                "rank": pa.array(list(ranks), pa.int64()),
                "components": pa.array(list(components), pa.string()),
            }
        )
        name = f"_composite_{uuid.uuid4().hex}"
        self.connection.register(name, stage)
        try:
            self.execute(
                "INSERT INTO composite_index SELECT o.org_unit_key, p.period_key, s.score, "
                f"s.rank, s.components FROM {name} s JOIN dim_org_unit o ON o.uid = s.uid "
                "JOIN dim_period p ON p.iso = ?",
                [period],
            )
        finally:
            self.connection.unregister(name)

    def delete_replaced_facts(
        self, periods: Sequence[str], data_items: Sequence[str], loaded_at: datetime
    ) -> int:
        if not periods or not data_items:
            return 0
        before = self.scalar("SELECT count(*) FROM fact_analytics")
        self.execute(
            "DELETE FROM fact_analytics WHERE loaded_at < ? "
            "AND period_key IN (SELECT period_key FROM dim_period WHERE list_contains(?, iso)) "
            "AND data_key IN (SELECT data_key FROM dim_data WHERE list_contains(?, uid))",
            [loaded_at, list(periods), list(data_items)],
        )
        return int(before - self.scalar("SELECT count(*) FROM fact_analytics"))

    # -- export -------------------------------------------------------------------------
    def export_parquet(self, directory: Path) -> dict[str, str]:
        files: dict[str, str] = {}
        for table in TABLES:
            if table == "fact_analytics":
                target = directory / table
                self.execute(
                    "COPY (SELECT f.*, p.iso AS period FROM fact_analytics f "
                    "JOIN dim_period p USING (period_key) ORDER BY p.iso, f.data_key, "
                    "f.org_unit_key, f.coc_key) "
                    f"TO '{_sql_path(target)}' (FORMAT PARQUET, PARTITION_BY (period))"
                )
            else:
                target = directory / f"{table}.parquet"
                key = TABLES[table].surrogate_key or TABLES[table].natural_key[0]
                self.execute(
                    f"COPY (SELECT * FROM {table} ORDER BY {key}) "
                    f"TO '{_sql_path(target)}' (FORMAT PARQUET)"
                )
            files[table] = str(target)
        return files


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def swap_directory(new: Path, target: Path) -> None:
    """Put the finished directory `new` in place of `target` (kept until the swap)."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
