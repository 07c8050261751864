"""DHIS2 enumerations shared by the query builder and the expression parser."""

from __future__ import annotations

__all__ = ["AGGREGATION_TYPES", "REPORTING_RATE_METRICS"]

REPORTING_RATE_METRICS: tuple[str, ...] = (
    "REPORTING_RATE",
    "REPORTING_RATE_ON_TIME",
    "ACTUAL_REPORTS",
    "ACTUAL_REPORTS_ON_TIME",
    "EXPECTED_REPORTS",
)
"""Data set metrics, usable as `<dataSet>.<METRIC>` analytics items and in `R{}`."""

AGGREGATION_TYPES: frozenset[str] = frozenset(
    {
        "SUM",
        "AVERAGE",
        "AVERAGE_SUM_ORG_UNIT",
        "LAST",
        "LAST_AVERAGE_ORG_UNIT",
        "LAST_LAST_ORG_UNIT",
        "LAST_IN_PERIOD",
        "LAST_IN_PERIOD_AVERAGE_ORG_UNIT",
        "FIRST",
        "FIRST_AVERAGE_ORG_UNIT",
        "FIRST_FIRST_ORG_UNIT",
        "COUNT",
        "STDDEV",
        "VARIANCE",
        "MIN",
        "MAX",
        "MIN_SUM_ORG_UNIT",
        "MAX_SUM_ORG_UNIT",
        "NONE",
        "CUSTOM",
        "DEFAULT",
    }
)
"""DHIS2's `AggregationType` values (analytics `aggregationType`, `.aggregationType(...)`)."""
