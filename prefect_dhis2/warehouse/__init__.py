"""The DHIS2 warehouse: a star schema in DuckDB (and Parquet) that any SQL user reads.

Tables (the contract, with comments in the database; see `schema`): `dim_org_unit`,
`dim_period`, `dim_data`, `dim_category_option_combo`, `fact_analytics`, the view
`v_analytics` and `composite_index`. The engine needs no Prefect:

- `schema`: the tables and columns, their comments and `SCHEMA_VERSION`.
- `dimensions`: dimension rows from org units, metadata and periods.
- `extract`: `aiter_fact_batches`, the one place analytics rows are read (Arrow batches).
- `backend`: the storage seam (`WarehouseBackend`; `DuckDbBackend` today).
- `checks`: the integrity checks after every load.
- `composite`: the composite index (min-max, weights, ranking).
- `build`: the refresh `abuild_star_schema` and `export_star_schema_parquet`.
- `report`: markdown for the artifacts.

`tasks` holds the Prefect tasks (they take the `Dhis2Credentials` block); the bundled
flow is `prefect_dhis2.flows.dhis2_star_schema`.

Examples:
    ```python
    import duckdb

    from prefect_dhis2.flows import dhis2_star_schema

    dhis2_star_schema(instance="BLOCK_NAME", warehouse="dhis2_warehouse.duckdb")
    duckdb.connect("dhis2_warehouse.duckdb").sql(
        "SELECT org_unit_name, sum(value) FROM v_analytics "
        "WHERE data_name = 'ANC 1st visit' AND org_unit_level = 2 GROUP BY 1 ORDER BY 2 DESC"
    ).show()
    ```
"""

from prefect_dhis2.warehouse.backend import WarehouseError
from prefect_dhis2.warehouse.build import StarSchemaResult, abuild_star_schema
from prefect_dhis2.warehouse.composite import CompositeComponent, CompositeIndexSpec
from prefect_dhis2.warehouse.tasks import build_star_schema, export_star_schema_parquet

__all__ = [
    "CompositeComponent",
    "CompositeIndexSpec",
    "StarSchemaResult",
    "WarehouseError",
    "abuild_star_schema",
    "build_star_schema",
    "export_star_schema_parquet",
]
