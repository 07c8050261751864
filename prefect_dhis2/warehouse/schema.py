"""The warehouse's schema: a documented contract of tables, columns and comments.

Users and BI tools rely on these names; they change only with `SCHEMA_VERSION`. The
schema is described once, as data (`TABLES`), and rendered as DDL for a backend
(`create_statements`), as documentation (`describe_schema`) and as comments in the
database (`comment_statements`), so the three never drift apart.

The org unit dimension has one `level_<n>_uid`/`level_<n>_name` pair per level of the
instance (`org_unit_level_columns`); a deeper tree adds pairs on the next refresh.

Examples:
    >>> [c.name for c in TABLES["fact_analytics"].columns][:4]
    ['data_key', 'org_unit_key', 'period_key', 'coc_key']
    >>> [c.name for c in org_unit_level_columns(2)]
    ['level_1_uid', 'level_1_name', 'level_2_uid', 'level_2_name']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DIMENSIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "TOTAL_COC_UID",
    "VIEW_NAME",
    "TableSpec",
    "WarehouseColumn",
    "comment_statements",
    "create_statements",
    "describe_schema",
    "org_unit_level_columns",
    "table_columns",
    "view_statement",
]

SCHEMA_VERSION = 1
"""The version of the table contract, kept in `warehouse_meta`; a warehouse of another
version is refused rather than silently altered."""

TOTAL_COC_UID = "TOTAL"
"""`dim_category_option_combo.uid` of the row facts point at when the extraction has
no `co` dimension (the total over every category option combo); its key is 0."""

VIEW_NAME = "v_analytics"


@dataclass(frozen=True)
class WarehouseColumn:
    """One column of the contract.

    Attributes:
        name: Column name.
        type: SQL type (DuckDB and PostgreSQL spell these alike).
        comment: What the column holds, stored as the column's comment.
    """

    name: str
    type: str
    comment: str


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract.

    Attributes:
        name: Table name.
        comment: What a row is, stored as the table's comment.
        columns: The fixed columns, in order.
        natural_key: The columns that identify a row (checked unique after each load).
        surrogate_key: The integer key column of a dimension (None for other tables).
    """

    name: str
    comment: str
    columns: tuple[WarehouseColumn, ...]
    natural_key: tuple[str, ...]
    surrogate_key: str | None = None


def _c(name: str, type_: str, comment: str) -> WarehouseColumn:
    return WarehouseColumn(name, type_, comment)


_META = TableSpec(
    "warehouse_meta",
    "Facts about the warehouse itself: schema version, source instance, last refresh.",
    (_c("key", "VARCHAR", "Setting name"), _c("value", "VARCHAR", "Setting value")),
    ("key",),
)

_ORG_UNIT = TableSpec(
    "dim_org_unit",
    "One row per DHIS2 organisation unit, with its ancestors flattened to one column "
    "pair per level. org_unit_key is stable across refreshes.",
    (
        _c("org_unit_key", "INTEGER", "Surrogate key, stable across refreshes"),
        _c("uid", "VARCHAR", "DHIS2 UID of the org unit"),
        _c("code", "VARCHAR", "DHIS2 code"),
        _c("name", "VARCHAR", "Name"),
        _c("short_name", "VARCHAR", "Short name"),
        _c("level", "INTEGER", "Hierarchy level (1 = root)"),
        _c("level_name", "VARCHAR", "Name of the level (e.g. District)"),
        _c("parent_uid", "VARCHAR", "UID of the parent unit (NULL for the root)"),
        _c("path", "VARCHAR", "DHIS2 path of UIDs from the root, e.g. /ImspTQPwCqd/O6uvpzGd5pu"),
        _c("opening_date", "DATE", "Opening date"),
        _c("closed_date", "DATE", "Closed date (NULL while open)"),
        _c("geometry_type", "VARCHAR", "GeoJSON geometry type (Point, Polygon, MultiPolygon)"),
        _c("longitude", "DOUBLE", "Longitude of the point, or of the polygon's centroid"),
        _c("latitude", "DOUBLE", "Latitude of the point, or of the polygon's centroid"),
    ),
    ("uid",),
    "org_unit_key",
)

_PERIOD = TableSpec(
    "dim_period",
    "One row per DHIS2 period (any period type). period_key is stable across refreshes.",
    (
        _c("period_key", "INTEGER", "Surrogate key, stable across refreshes"),
        _c("iso", "VARCHAR", "DHIS2 period identifier, e.g. 202401 or 2024Q1"),
        _c("period_type", "VARCHAR", "DHIS2 period type, e.g. Monthly"),
        _c("name", "VARCHAR", "Display name, e.g. January 2024"),
        _c("start_date", "DATE", "First day"),
        _c("end_date", "DATE", "Last day (inclusive)"),
        _c("year", "INTEGER", "Calendar year of the start date"),
        _c("quarter", "INTEGER", "Calendar quarter of the start date (1-4)"),
        _c("month", "INTEGER", "Calendar month of the start date (1-12)"),
        _c("week", "INTEGER", "ISO week of the start date"),
        _c("days", "INTEGER", "Number of days"),
    ),
    ("iso",),
    "period_key",
)

_DATA = TableSpec(
    "dim_data",
    "One row per data item (dx): data element, operand, indicator, program indicator "
    "or reporting rate. data_key is stable across refreshes.",
    (
        _c("data_key", "INTEGER", "Surrogate key, stable across refreshes"),
        _c("uid", "VARCHAR", "The dx item as DHIS2 names it (UID, de.coc, ds.REPORTING_RATE)"),
        _c("code", "VARCHAR", "DHIS2 code"),
        _c("name", "VARCHAR", "Name"),
        _c("short_name", "VARCHAR", "Short name"),
        _c(
            "kind",
            "VARCHAR",
            "DATA_ELEMENT, DATA_ELEMENT_OPERAND, INDICATOR, PROGRAM_INDICATOR or REPORTING_RATE",
        ),
        _c("value_type", "VARCHAR", "Value type of a data element (NUMBER, INTEGER, ...)"),
        _c("aggregation_type", "VARCHAR", "Aggregation type (SUM, AVERAGE, ...)"),
        _c("indicator_type", "VARCHAR", "Indicator type name (e.g. Per cent)"),
        _c("factor", "DOUBLE", "Indicator type factor (100 for a percentage)"),
        _c("numerator", "VARCHAR", "Indicator numerator expression"),
        _c("denominator", "VARCHAR", "Indicator denominator expression"),
    ),
    ("uid",),
    "data_key",
)

_COC = TableSpec(
    "dim_category_option_combo",
    "One row per category option combo; key 0 (uid TOTAL) is the total over all combos, "
    "used when the extraction has no co dimension.",
    (
        _c("coc_key", "INTEGER", "Surrogate key, stable across refreshes (0 = total)"),
        _c("uid", "VARCHAR", "DHIS2 UID of the category option combo (TOTAL for the total)"),
        _c("name", "VARCHAR", "Name"),
    ),
    ("uid",),
    "coc_key",
)

_FACT = TableSpec(
    "fact_analytics",
    "One aggregated analytics value per data item, org unit, period and category option "
    "combo, as DHIS2 analytics returned it.",
    (
        _c("data_key", "INTEGER", "dim_data.data_key"),
        _c("org_unit_key", "INTEGER", "dim_org_unit.org_unit_key"),
        _c("period_key", "INTEGER", "dim_period.period_key"),
        _c("coc_key", "INTEGER", "dim_category_option_combo.coc_key (0 = total)"),
        _c("value", "DOUBLE", "The aggregated value"),
        _c("numerator", "DOUBLE", "Indicator numerator (NULL for data elements)"),
        _c("denominator", "DOUBLE", "Indicator denominator (NULL for data elements)"),
        _c("loaded_at", "TIMESTAMP", "When the refresh that loaded the row ran (UTC)"),
    ),
    ("data_key", "org_unit_key", "period_key", "coc_key"),
)

_COMPOSITE = TableSpec(
    "composite_index",
    "The composite index: a weighted mean of min-max normalised indicators per org unit "
    "at the chosen level and period, ranked (1 = best).",
    (
        _c("org_unit_key", "INTEGER", "dim_org_unit.org_unit_key"),
        _c("period_key", "INTEGER", "dim_period.period_key"),
        _c("score", "DOUBLE", "Weighted composite score, 0 (worst) to 1 (best)"),
        _c("rank", "INTEGER", "Rank by score (1 = best; ties share a rank)"),
        _c("components", "VARCHAR", "JSON: each component's raw value and normalised score"),
    ),
    ("org_unit_key", "period_key"),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (_META, _ORG_UNIT, _PERIOD, _DATA, _COC, _FACT, _COMPOSITE)
}
"""Every table of the contract by name, in creation order."""

DIMENSIONS = ("dim_org_unit", "dim_period", "dim_data", "dim_category_option_combo")


def org_unit_level_columns(max_level: int) -> list[WarehouseColumn]:
    """The `level_<n>_uid`/`level_<n>_name` columns of `dim_org_unit` for `max_level` levels."""
    columns: list[WarehouseColumn] = []
    for level in range(1, max_level + 1):
        columns.append(_c(f"level_{level}_uid", "VARCHAR", f"UID of the level {level} ancestor"))
        columns.append(_c(f"level_{level}_name", "VARCHAR", f"Name of the level {level} ancestor"))
    return columns


def table_columns(table: str, max_level: int = 0) -> list[WarehouseColumn]:
    """The columns of `table`; `dim_org_unit` gets its level pairs after `path`."""
    spec = TABLES[table]
    if table != "dim_org_unit":
        return list(spec.columns)
    fixed = list(spec.columns)
    cut = [c.name for c in fixed].index("path") + 1
    return [*fixed[:cut], *org_unit_level_columns(max_level), *fixed[cut:]]


def create_statements(max_level: int) -> list[str]:
    """`CREATE TABLE IF NOT EXISTS` for every table (no comments; see `comment_statements`).

    Keys are not declared as constraints: DuckDB checks them row by row during bulk
    loads, and the integrity checks after every load hold the same rules.
    """
    statements = []
    for name in TABLES:
        body = ", ".join(f'"{c.name}" {c.type}' for c in table_columns(name, max_level))
        statements.append(f"CREATE TABLE IF NOT EXISTS {name} ({body})")
    return statements


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(max_level: int) -> list[str]:
    """`COMMENT ON` every table, column and the view."""
    statements = []
    for name, spec in TABLES.items():
        statements.append(f"COMMENT ON TABLE {name} IS {_quote(spec.comment)}")
        for column in table_columns(name, max_level):
            statements.append(
                f'COMMENT ON COLUMN {name}."{column.name}" IS {_quote(column.comment)}'
            )
    statements.append(
        f"COMMENT ON VIEW {VIEW_NAME} IS "
        + _quote("The facts joined to every dimension, with readable columns.")
    )
    return statements


def view_statement(max_level: int) -> str:
    """`CREATE OR REPLACE VIEW v_analytics`: the facts with readable dimension columns."""
    levels = ", ".join(
        f"o.level_{n}_uid AS org_unit_level_{n}_uid, o.level_{n}_name AS org_unit_level_{n}_name"
        for n in range(1, max_level + 1)
    )
    return (
        f"CREATE OR REPLACE VIEW {VIEW_NAME} AS SELECT "
        "d.uid AS data_uid, d.name AS data_name, d.kind AS data_kind, "
        "o.uid AS org_unit_uid, o.name AS org_unit_name, o.level AS org_unit_level, "
        f"o.level_name AS org_unit_level_name, {levels + ', ' if levels else ''}"
        "p.iso AS period, p.period_type, p.name AS period_name, p.start_date, p.end_date, "
        "p.year, p.quarter, p.month, "
        "c.uid AS coc_uid, c.name AS coc_name, "
        "f.value, f.numerator, f.denominator, f.loaded_at, "
        "f.data_key, f.org_unit_key, f.period_key, f.coc_key "
        "FROM fact_analytics f "
        "JOIN dim_data d USING (data_key) "
        "JOIN dim_org_unit o USING (org_unit_key) "
        "JOIN dim_period p USING (period_key) "
        "JOIN dim_category_option_combo c USING (coc_key)"
    )


def describe_schema(max_level: int = 4) -> str:
    """The contract as markdown: one section per table, one line per column.

    Examples:
        >>> print(describe_schema(1).splitlines()[0])
        ## warehouse_meta
    """
    lines: list[str] = []
    for name, spec in TABLES.items():
        lines += [
            f"## {name}",
            "",
            spec.comment,
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        lines += [f"| {c.name} | {c.type} | {c.comment} |" for c in table_columns(name, max_level)]
        lines.append("")
    return "\n".join(lines)
