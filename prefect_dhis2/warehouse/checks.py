"""Integrity checks run after every load, before the refresh is committed.

Pure: no Prefect; plain SQL any backend runs. Every fact has its dimension rows, no
natural key appears twice (facts and dimensions), no key is NULL. A failed check
fails the refresh, which is rolled back.

Examples:
    >>> [c.name for c in integrity_queries()][:3]
    ['fact_keys_not_null', 'fact_natural_key_unique', 'fact_has_dim_org_unit']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from prefect_dhis2.warehouse.backend import WarehouseError
from prefect_dhis2.warehouse.schema import DIMENSIONS, TABLES

if TYPE_CHECKING:
    from prefect_dhis2.warehouse.backend import WarehouseBackend

__all__ = [
    "IntegrityCheck",
    "WarehouseIntegrityError",
    "integrity_queries",
    "run_integrity_checks",
]


class IntegrityCheck(BaseModel):
    """The outcome of one check.

    Attributes:
        name: What was checked, e.g. `fact_has_dim_period`.
        description: The rule in words.
        failing_rows: Rows that break the rule (0 = passed).
    """

    name: str
    description: str
    failing_rows: int

    @property
    def passed(self) -> bool:
        """True when no row breaks the rule."""
        return self.failing_rows == 0


class WarehouseIntegrityError(WarehouseError):
    """A check failed after the load; the refresh was rolled back.

    Attributes:
        checks: Every check, passed or not.
    """

    def __init__(self, location: str, checks: Sequence[IntegrityCheck]) -> None:
        self.location = location
        self.checks = list(checks)
        failed = "; ".join(
            f"{c.name}: {c.failing_rows} row(s) ({c.description})" for c in checks if not c.passed
        )
        super().__init__(
            f"Integrity checks failed on {location}; the refresh was rolled back and the "
            f"previous warehouse is unchanged: {failed}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.location, self.checks))


@dataclass(frozen=True)
class _Query:
    name: str
    description: str
    sql: str


_FACT_KEYS = TABLES["fact_analytics"].natural_key
_KEY_OF = {table: TABLES[table].surrogate_key for table in DIMENSIONS}
_FACT_COLUMN = {
    "dim_org_unit": "org_unit_key",
    "dim_period": "period_key",
    "dim_data": "data_key",
    "dim_category_option_combo": "coc_key",
}


def integrity_queries() -> list[_Query]:
    """The checks as SQL, each counting the rows that break its rule."""
    keys = ", ".join(_FACT_KEYS)
    queries = [
        _Query(
            "fact_keys_not_null",
            "every fact has all four keys",
            "SELECT count(*) FROM fact_analytics WHERE "
            + " OR ".join(f"{k} IS NULL" for k in _FACT_KEYS),
        ),
        _Query(
            "fact_natural_key_unique",
            f"one fact per ({keys})",
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM fact_analytics "
            f"GROUP BY {keys} HAVING count(*) > 1) AS d",
        ),
    ]
    for table in DIMENSIONS:
        column = _FACT_COLUMN[table]
        queries.append(
            _Query(
                f"fact_has_{table}",
                f"every fact's {column} is in {table}",
                f"SELECT count(*) FROM fact_analytics f WHERE f.{column} IS NOT NULL AND NOT "
                f"EXISTS (SELECT 1 FROM {table} d WHERE d.{column} = f.{column})",
            )
        )
    for table in DIMENSIONS:
        key, natural = _KEY_OF[table], TABLES[table].natural_key[0]
        queries.append(
            _Query(
                f"{table}_keys",
                f"{key} and {natural} are set and unique",
                f"SELECT (SELECT count(*) FROM {table} WHERE {key} IS NULL OR {natural} IS NULL)"
                f" + (SELECT count(*) - count(DISTINCT {key}) FROM {table})"
                f" + (SELECT count(*) - count(DISTINCT {natural}) FROM {table})",
            )
        )
    queries.append(
        _Query(
            "composite_index_has_dimensions",
            "every composite row's org unit and period exist",
            "SELECT count(*) FROM composite_index c WHERE c.org_unit_key IS NULL OR "
            "c.period_key IS NULL OR NOT EXISTS (SELECT 1 FROM dim_org_unit o WHERE "
            "o.org_unit_key = c.org_unit_key) OR NOT EXISTS (SELECT 1 FROM dim_period p "
            "WHERE p.period_key = c.period_key)",
        )
    )
    return queries


def _combined_sql(queries: Sequence[_Query]) -> str:
    """Every check's count in one statement.

    The per-fact checks (NULL keys, a dimension row for each key) are counted in one
    pass over the facts, left-joined to the dimensions; uniqueness is one GROUP BY;
    the dimension and composite checks read small tables.
    """
    by_name = {q.name: q for q in queries}
    per_fact = ["count(*) FILTER (WHERE " + " OR ".join(f"f.{k} IS NULL" for k in _FACT_KEYS) + ")"]
    joins = []
    for n, table in enumerate(DIMENSIONS):
        column = _FACT_COLUMN[table]
        joins.append(f"LEFT JOIN {table} d{n} ON d{n}.{column} = f.{column}")
        per_fact.append(f"count(*) FILTER (WHERE f.{column} IS NOT NULL AND d{n}.{column} IS NULL)")
    facts = f"SELECT {', '.join(per_fact)} FROM fact_analytics f {' '.join(joins)}"
    rest = [by_name["fact_natural_key_unique"].sql]
    rest += [by_name[f"{table}_keys"].sql for table in DIMENSIONS]
    rest.append(by_name["composite_index_has_dimensions"].sql)
    return f"SELECT * FROM ({facts}) AS facts, " + ", ".join(
        f"({sql}) AS c{n}" for n, sql in enumerate(rest)
    )


def run_integrity_checks(backend: WarehouseBackend) -> list[IntegrityCheck]:
    """Run every check in the open transaction, in one statement.

    Raises:
        WarehouseIntegrityError: When one fails (the caller rolls back).
    """
    queries = integrity_queries()
    order = [
        "fact_keys_not_null",
        *(f"fact_has_{table}" for table in DIMENSIONS),
        "fact_natural_key_unique",
        *(f"{table}_keys" for table in DIMENSIONS),
        "composite_index_has_dimensions",
    ]
    counts = dict(zip(order, backend.rows(_combined_sql(queries))[0], strict=True))
    checks = [
        IntegrityCheck(
            name=q.name, description=q.description, failing_rows=int(counts[q.name] or 0)
        )
        for q in queries
    ]
    if not all(c.passed for c in checks):
        raise WarehouseIntegrityError(backend.location, checks)
    return checks
