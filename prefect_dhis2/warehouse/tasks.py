"""The Prefect tasks of the warehouse: one refresh, one Parquet export.

`build_star_schema` takes a `Dhis2Credentials` block and runs the engine
(`prefect_dhis2.warehouse.build.abuild_star_schema`) through
`prefect_dhis2.runtime.run_engine`; every analytics shard holds one slot of the host's
Prefect global concurrency limit. `export_star_schema_parquet` writes the Parquet copy.

Examples:
    ```python
    from prefect import flow
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.warehouse import build_star_schema

    @flow
    def nightly_warehouse():
        return build_star_schema(Dhis2Credentials.load("BLOCK_NAME"), "warehouse.duckdb")
    ```
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task

from prefect_dhis2.analytics.extract import DEFAULT_MAX_ROWS
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.host_limit import _ensure_meanwhile
from prefect_dhis2.runtime import run_logger, run_sync
from prefect_dhis2.warehouse import build
from prefect_dhis2.warehouse.build import ParquetExportResult, StarSchemaResult
from prefect_dhis2.warehouse.composite import CompositeIndexSpec

__all__ = ["build_star_schema", "export_star_schema_parquet"]


# The result is small (counts, checks, the ranking) and a refresh is never replayed from
# a cache: nothing to persist.
@task(
    name="Build the DHIS2 star schema",
    description="Refresh the DuckDB star schema.",
    persist_result=False,
)
def build_star_schema(
    credentials: Dhis2Credentials,
    warehouse: str,
    data_items: Sequence[str] | None = None,
    org_units: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    category_option_combos: bool = False,
    composite: CompositeIndexSpec | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    use_host_limit: bool = True,
    parquet_dir: str | None = None,
) -> StarSchemaResult:
    """Refresh the star schema in `warehouse` (see `abuild_star_schema`).

    With `parquet_dir`, the Parquet copy is written right after the commit, in the
    same run (`result.parquet`).

    Examples:
        ```python
        result = build_star_schema(credentials, "warehouse.duckdb", periods=["LAST_4_QUARTERS"])
        ```
    """

    async def run() -> StarSchemaResult:
        async with (
            _ensure_meanwhile(credentials, use_host_limit),
            credentials.get_async_client() as client,
        ):
            return await build.abuild_star_schema(
                client,
                warehouse,
                data_items,
                org_units,
                periods,
                category_option_combos=category_option_combos,
                composite=composite,
                max_rows=max_rows,
                logger=run_logger(),
                parquet_dir=parquet_dir,
            )

    return run_sync(run())


@task(name="Export the star schema as Parquet", persist_result=False)
def export_star_schema_parquet(warehouse: str, parquet_dir: str) -> ParquetExportResult:
    """Write the warehouse's tables as Parquet (see `export_star_schema_parquet` of the engine).

    Examples:
        ```python
        export_star_schema_parquet("warehouse.duckdb", "warehouse_parquet")
        ```
    """
    return build.export_star_schema_parquet(warehouse, parquet_dir)
