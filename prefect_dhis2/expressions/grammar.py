"""Static facts about the DHIS2 expression language: functions, arities, names.

These tables follow `Expression.g4` in dhis2/dhis2-antlr-expression-parser and the
expression item maps of `DefaultExpressionService` in dhis2-core.
"""

from __future__ import annotations

from prefect_dhis2.vocabulary import AGGREGATION_TYPES, REPORTING_RATE_METRICS

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "AGGREGATION_TYPES",
    "BINARY_PRECEDENCE",
    "FUNCTION_ARITY",
    "ORG_UNIT_FUNCTIONS",
    "POSTFIX_FUNCTIONS",
    "PROGRAM_VARIABLES",
    "REPORTING_RATE_METRICS",
    "UNARY_PRECEDENCE",
]

#: Function name (without `(`) -> (minimum, maximum or None for unbounded) arguments.
FUNCTION_ARITY: dict[str, tuple[int, int | None]] = {
    # Common functions.
    "contains": (2, None),
    "containsItems": (2, None),
    "firstNonNull": (1, None),
    "greatest": (1, None),
    "if": (3, 3),
    "is": (2, None),  # is(x in a, b, ...): the subject plus at least one candidate
    "isNotNull": (1, 1),
    "isNull": (1, 1),
    "least": (1, None),
    "log": (1, 2),
    "log10": (1, 1),
    "normDistCum": (1, 3),
    "normDistDen": (1, 3),
    "removeZeros": (1, 1),
    "subExpression": (1, 1),
    # Aggregate (vector) functions, for predictors.
    "avg": (1, 1),
    "count": (1, 1),
    "max": (1, 1),
    "median": (1, 1),
    "min": (1, 1),
    "percentileCont": (2, 2),
    "stddev": (1, 1),
    "stddevPop": (1, 1),
    "stddevSamp": (1, 1),
    "sum": (1, 1),
    "variance": (1, 1),
    # Program indicator / program rule functions.
    "d2:addDays": (2, 2),
    "d2:ceil": (1, 1),
    "d2:concatenate": (1, None),
    "d2:condition": (3, 3),
    "d2:contains": (2, None),
    "d2:containsItems": (2, None),
    "d2:count": (1, 1),
    "d2:countIfCondition": (2, 2),
    "d2:countIfValue": (2, 2),
    "d2:countIfZeroPos": (1, 1),
    "d2:daysBetween": (2, 2),
    "d2:extractDataMatrixValue": (2, 2),
    "d2:floor": (1, 1),
    "d2:hasUserRole": (1, 1),
    "d2:hasValue": (1, 1),
    "d2:inOrgUnitGroup": (1, 1),
    "d2:inUserGroup": (1, 1),
    "d2:lastEventDate": (1, 1),
    "d2:left": (2, 2),
    "d2:length": (1, 1),
    "d2:maxValue": (1, 1),
    "d2:minutesBetween": (2, 2),
    "d2:minValue": (1, 1),
    "d2:modulus": (2, 2),
    "d2:monthsBetween": (2, 2),
    "d2:oizp": (1, 1),
    "d2:relationshipCount": (0, 1),
    "d2:right": (2, 2),
    "d2:round": (1, 2),
    "d2:split": (3, 3),
    "d2:substring": (3, 3),
    "d2:validatePattern": (2, 2),
    "d2:weeksBetween": (2, 2),
    "d2:yearsBetween": (2, 2),
    "d2:zing": (1, 1),
    "d2:zpvc": (1, None),
    "d2:zScoreHFA": (3, 3),
    "d2:zScoreWFA": (3, 3),
    "d2:zScoreWFH": (3, 3),
}

#: The aggregate functions (allowed in predictors, and some in program indicators).
AGGREGATE_FUNCTIONS = frozenset(
    {
        "avg",
        "count",
        "max",
        "median",
        "min",
        "percentileCont",
        "stddev",
        "stddevPop",
        "stddevSamp",
        "sum",
        "variance",
    }
)

#: `orgUnit.<name>(UID, ...)`.
ORG_UNIT_FUNCTIONS = frozenset({"ancestor", "dataSet", "group", "program"})

#: Postfix ("dot") functions.
POSTFIX_FUNCTIONS = frozenset(
    {"aggregationType", "maxDate", "minDate", "periodOffset", "stageOffset", "yearToDate"}
)

#: `R{dataSet.METRIC}` metrics.

#: `V{name}` program variables.
PROGRAM_VARIABLES = frozenset(
    {
        "analytics_period_end",
        "analytics_period_start",
        "completed_date",
        "creation_date",
        "current_date",
        "due_date",
        "enrollment_count",
        "enrollment_date",
        "enrollment_id",
        "enrollment_status",
        "environment",
        "event_count",
        "event_date",
        "event_id",
        "event_status",
        "execution_date",
        "incident_date",
        "org_unit_count",
        "org_unit",
        "orgunit_code",
        "program_name",
        "program_stage_id",
        "program_stage_name",
        "scheduled_date",
        "sync_date",
        "tei_count",
        "value_count",
        "zero_pos_value_count",
    }
)


#: Binding power of binary operators: higher binds tighter (DHIS2 order).
BINARY_PRECEDENCE: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
    "^": 8,
}

#: Binding power of the prefix operators `+ - !`: between `* / %` and `^`.
UNARY_PRECEDENCE = 7

#: Binding power of postfix functions: tightest of all.
POSTFIX_PRECEDENCE = 9

#: Binding power of atoms (items, literals, function calls).
ATOM_PRECEDENCE = 10
