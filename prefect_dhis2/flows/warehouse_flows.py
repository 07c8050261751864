"""The bundled warehouse flow: a DHIS2 star schema in DuckDB and Parquet."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from prefect_dhis2.analytics import DEFAULT_MAX_ROWS
from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, run_logger
from prefect_dhis2.warehouse import (
    CompositeIndexSpec,
    StarSchemaResult,
    build_star_schema,
    export_star_schema_parquet,
)
from prefect_dhis2.warehouse.backend import check_warehouse_path
from prefect_dhis2.warehouse.build import DEFAULT_WAREHOUSE, ParquetExportResult, star_schema_query
from prefect_dhis2.warehouse.composite import DEFAULT_COMPOSITE, check_composite
from prefect_dhis2.warehouse.report import ranking_rows, star_schema_markdown

__all__ = ["StarSchemaReport", "dhis2_star_schema"]


class StarSchemaReport(Dhis2FlowReport):
    """What `dhis2_star_schema` built.

    Attributes:
        result: The refresh: rows per table, periods replaced and added, new keys,
            integrity checks, the composite index, how the extraction went.
        parquet: The Parquet copy (None when not written).
        top: The top of the composite ranking (rank, org unit, UID, score).
    """

    result: StarSchemaResult
    parquet: ParquetExportResult | None = None
    top: list[dict[str, Any]] = []


def _composite(
    composite: CompositeIndexSpec | dict[str, Any] | bool | None, data_items: tuple[str, ...]
) -> CompositeIndexSpec | None:
    if composite is False:
        return None
    if composite is None or composite is True:
        # The default index only when its items are extracted (they are by default).
        if all(c.item in data_items for c in DEFAULT_COMPOSITE.components):
            return DEFAULT_COMPOSITE
        if composite is None:
            return None
        return DEFAULT_COMPOSITE  # asked for explicitly: checked below, fails clearly
    return CompositeIndexSpec.model_validate(composite)


@flow(name="dhis2-star-schema", log_prints=False)
def dhis2_star_schema(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    data_items: list[str] | None = None,
    org_units: list[str] | None = None,
    periods: list[str] | None = None,
    warehouse: str | None = None,
    parquet_dir: str | None = None,
    composite: CompositeIndexSpec | dict[str, Any] | bool | None = None,
    category_option_combos: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> StarSchemaReport:
    """Refresh a star schema of DHIS2 analytics in DuckDB, with a Parquet copy.

    Every argument is checked before any request. The refresh runs in one DuckDB
    transaction: it replaces exactly the extracted periods of the extracted data
    items, keeps every surrogate key, runs the integrity checks and the composite
    index, and commits only when all passed; otherwise the previous warehouse is left
    unchanged. A markdown artifact reports the refresh and a table artifact the ranking.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        data_items: dx items; default ANC and immunisation data elements and indicators
            (`prefect_dhis2.warehouse.build.DEFAULT_DATA_ITEMS`).
        org_units: ou items; default every level of the instance.
        periods: ISO or relative periods; default `LAST_12_MONTHS`.
        warehouse: The DuckDB file; default `dhis2_warehouse.duckdb` in the working
            directory.
        parquet_dir: Where the Parquet copy goes; default `<warehouse>_parquet` next
            to the warehouse.
        composite: The composite index (`CompositeIndexSpec` or its dict); None = the
            maternal and child health profile of districts when its items are
            extracted; False = none.
        category_option_combos: Facts per category option combo (the `co` dimension).
        max_rows: Row budget per analytics shard.

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_star_schema
        report = dhis2_star_schema(instance="BLOCK_NAME", warehouse="anc.duckdb")
        print(report.result.rows, report.top[:3])
        ```
    """
    watch = Stopwatch()
    query = star_schema_query(
        data_items, org_units, periods, category_option_combos=category_option_combos
    )
    spec = _composite(composite, query.data_items)
    if spec is not None:
        check_composite(spec, query.data_items)
    path = check_warehouse_path(warehouse or os.path.join(os.getcwd(), DEFAULT_WAREHOUSE))
    parquet = Path(parquet_dir) if parquet_dir else path.with_name(f"{path.stem}_parquet")
    creds = resolve_credentials(credentials, instance)
    result = build_star_schema(
        creds,
        str(path),
        list(query.data_items),
        org_units,
        list(query.periods),
        category_option_combos=category_option_combos,
        composite=spec,
        max_rows=max_rows,
        parquet_dir=str(parquet),
    )
    exported = result.parquet or export_star_schema_parquet(str(path), str(parquet))
    top = ranking_rows(result.composite, spec.top) if result.composite and spec else []
    report = StarSchemaReport(
        instance=creds.base_url,
        output_dir=str(path.parent),
        files={"warehouse": str(path), "parquet": exported.directory},
        result=result,
        parquet=exported,
        top=top,
        duration_s=watch.elapsed,
    )
    create_markdown_artifact(
        key="dhis2-star-schema",
        markdown=star_schema_markdown(creds.base_url, result, spec.top if spec else 10),
        description=f"DHIS2 warehouse {path}",
    )
    if result.composite is not None:
        create_table_artifact(
            key="dhis2-composite-index",
            table=ranking_rows(result.composite) or [{"rank": None}],
            description=(
                f"Composite index of level {result.composite.level} org units, "
                f"period {result.composite.period}"
            ),
        )
    run_logger().info("Warehouse %s: %d facts loaded (%s)", path, result.facts_loaded, result.rows)
    return report
