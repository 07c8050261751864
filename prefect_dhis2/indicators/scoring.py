"""Scoring expressions: how complex each side is, whether it parses, what it says.

Each expression side of an indicator, program indicator or validation rule becomes
one `ExpressionScore`: parsed with `prefect_dhis2.expressions`, scored for complexity
and binned, described with object names (like DHIS2's `/api/expressions/description`)
and checked for constructs its context does not allow. `score_rows` flattens scores to
the rows of `indicator_complexity.csv`.

Examples:
    >>> scores = score_expressions(indicators=[{"id": "Uvn6LCg7dVU", "name": "ANC 1",
    ...     "numerator": "#{fbfJHSPpUQD} + 1", "denominator": "1"}])
    >>> [(s.side, s.complexity) for s in scores]
    [('numerator', 'simple'), ('denominator', 'trivial')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prefect_dhis2.expressions import (
    ComplexityBins,
    ComplexityLevel,
    ExpressionContext,
    ExpressionSyntaxError,
    analyze_expression,
    describe_expression_details,
)
from prefect_dhis2.indicators.catalogue import ObjectType, expression_sides, name_index
from prefect_dhis2.writers import Column

__all__ = [
    "SCORE_COLUMNS",
    "ExpressionScore",
    "complexity_distribution",
    "score_expressions",
    "score_rows",
]


class ExpressionScore(BaseModel):
    """The analysis of one side of one object's expression.

    Attributes:
        object_type: `indicator`, `program_indicator` or `validation_rule`.
        object_id: The object's UID.
        object_name: Its name.
        side: `numerator`/`denominator`, `expression`/`filter` or
            `left_side`/`right_side`.
        expression: The expression text as stored.
        valid: Whether it parses.
        error_reason: Why it does not parse.
        error_position: 0-based offset of the syntax error.
        simple_score: Operands + arithmetic operators (what regex scripts count).
        complexity_score: See `ExpressionAnalysis.complexity_score`.
        complexity: The bin of `complexity_score` (None when invalid).
        nesting_depth: Parenthesis nesting of the canonical form.
        operand_count: Item occurrences.
        operator_count: Operators of every kind.
        function_count: Function calls, dot functions included.
        item_counts: Occurrences per item kind.
        function_counts: Calls per function.
        operator_counts: Occurrences per operator.
        data_elements: Distinct data element UIDs referenced.
        description: The expression with names in place of UIDs.
        unknown_uids: UIDs that had no name (unknown objects).
        disallowed: Constructs the object's context does not allow.
    """

    model_config = ConfigDict(frozen=True)

    object_type: ObjectType
    object_id: str
    object_name: str | None = None
    side: str
    expression: str
    valid: bool
    error_reason: str | None = None
    error_position: int | None = None
    simple_score: int = 0
    complexity_score: int = 0
    complexity: ComplexityLevel | None = None
    nesting_depth: int = 0
    operand_count: int = 0
    operator_count: int = 0
    function_count: int = 0
    item_counts: dict[str, int] = Field(default_factory=dict)
    function_counts: dict[str, int] = Field(default_factory=dict)
    operator_counts: dict[str, int] = Field(default_factory=dict)
    data_elements: list[str] = Field(default_factory=list)
    description: str | None = None
    unknown_uids: list[str] = Field(default_factory=list)
    disallowed: list[str] = Field(default_factory=list)


def _score_one(
    object_type: ObjectType,
    obj: Mapping[str, Any],
    side: str,
    text: str,
    names: Mapping[str, str],
    bins: ComplexityBins,
) -> ExpressionScore:
    context: ExpressionContext = object_type
    analysis = analyze_expression(text, context, bins=bins)
    base: dict[str, Any] = {
        "object_type": object_type,
        "object_id": str(obj.get("id")),
        "object_name": obj.get("displayName") or obj.get("name"),
        "side": side,
        "expression": text,
    }
    if not analysis.valid:
        assert analysis.error is not None
        return ExpressionScore(
            **base,
            valid=False,
            error_reason=analysis.error.reason,
            error_position=analysis.error.position,
        )
    try:
        details = describe_expression_details(text, names)
        description, unknown = details.description, list(details.unknown_uids)
    except ExpressionSyntaxError:  # pragma: no cover - analysis already parsed it
        description, unknown = None, []
    return ExpressionScore(
        **base,
        valid=True,
        simple_score=analysis.simple_score,
        complexity_score=analysis.complexity_score,
        complexity=analysis.complexity,
        nesting_depth=analysis.nesting_depth,
        operand_count=analysis.operand_count,
        operator_count=sum(analysis.operator_counts.values()),
        function_count=sum(analysis.function_counts.values()),
        item_counts=analysis.item_counts,
        function_counts=analysis.function_counts,
        operator_counts=analysis.operator_counts,
        data_elements=analysis.uids.data_elements,
        description=description,
        unknown_uids=unknown,
        disallowed=analysis.disallowed,
    )


def score_expressions(
    *,
    indicators: Iterable[Mapping[str, Any]] = (),
    program_indicators: Iterable[Mapping[str, Any]] = (),
    validation_rules: Iterable[Mapping[str, Any]] = (),
    names: Mapping[str, str] | None = None,
    bins: ComplexityBins | None = None,
) -> list[ExpressionScore]:
    """Score every expression side of the given objects (pure; never raises on bad text).

    Indicators give a `numerator` and a `denominator` row, program indicators an
    `expression` row and a `filter` row when they have a filter, validation rules
    a `left_side` and a `right_side` row. A missing required side is scored as an
    empty, invalid expression.

    Args:
        indicators: Indicator objects (`id`, `name`, `numerator`, `denominator`).
        program_indicators: Program indicator objects (`expression`, `filter`).
        validation_rules: Validation rule objects (`leftSide.expression`,
            `rightSide.expression`).
        names: UID -> name for descriptions (see `name_index`); defaults to the
            names of the given objects.
        bins: Complexity bins (default `ComplexityBins()`).

    Examples:
        >>> scores = score_expressions(
        ...     indicators=[{"id": "Uvn6LCg7dVU", "name": "ANC 1 Coverage",
        ...                  "numerator": "#{fbfJHSPpUQD}", "denominator": "#{h0xKKjijTdI"}],
        ...     names={"fbfJHSPpUQD": "ANC 1st visit"})
        >>> [(s.side, s.valid, s.description) for s in scores]
        [('numerator', True, 'ANC 1st visit'), ('denominator', False, None)]
    """
    chosen_bins = bins or ComplexityBins()
    groups: tuple[tuple[ObjectType, list[Mapping[str, Any]]], ...] = (
        ("indicator", list(indicators)),
        ("program_indicator", list(program_indicators)),
        ("validation_rule", list(validation_rules)),
    )
    if names is None:
        names = name_index({kind: objects for kind, objects in groups})
    return [
        _score_one(object_type, obj, side, text, names, chosen_bins)
        for object_type, objects in groups
        for obj, side, text in expression_sides(object_type, objects)
    ]


def _counts_text(counts: Mapping[str, int]) -> str | None:
    return ";".join(f"{k}={v}" for k, v in sorted(counts.items())) or None


SCORE_COLUMNS = [
    Column("object_type"),
    Column("object_id"),
    Column("object_name"),
    Column("side"),
    Column("expression"),
    Column("valid", "bool"),
    Column("error_reason"),
    Column("error_position", "int"),
    Column("simple_score", "int"),
    Column("complexity_score", "int"),
    Column("complexity"),
    Column("nesting_depth", "int"),
    Column("operand_count", "int"),
    Column("operator_count", "int"),
    Column("function_count", "int"),
    Column("distinct_data_elements", "int"),
    Column("item_counts"),
    Column("function_counts"),
    Column("operator_counts"),
    Column("data_elements"),
    Column("description"),
    Column("unknown_uids"),
    Column("disallowed"),
]
"""Columns of `indicator_complexity.csv` (one row per expression side)."""


# How `score_rows` writes each field of a score: as it is (always, or only when the
# expression parses), as `key=count` pairs, or as a `;`-joined list.
_ROW_FIELDS = {
    "object_type",
    "object_id",
    "object_name",
    "side",
    "expression",
    "valid",
    "error_reason",
    "error_position",
}
_VALID_ROW_FIELDS = {
    "simple_score",
    "complexity_score",
    "complexity",
    "nesting_depth",
    "operand_count",
    "operator_count",
    "function_count",
    "description",
}
_COUNT_FIELDS = ("item_counts", "function_counts", "operator_counts")
_LIST_FIELDS = ("data_elements", "unknown_uids", "disallowed")


def score_rows(scores: Iterable[ExpressionScore]) -> list[dict[str, Any]]:
    """Flatten scores to rows with the `SCORE_COLUMNS` (lists joined with `;`).

    Counts of an invalid expression are left empty rather than written as zeros.
    """
    rows = []
    for s in scores:
        row = s.model_dump(include=_ROW_FIELDS)
        if s.valid:
            row.update(s.model_dump(include=_VALID_ROW_FIELDS))
            row["distinct_data_elements"] = len(s.data_elements)
            row.update({name: _counts_text(getattr(s, name)) for name in _COUNT_FIELDS})
            row.update({name: ";".join(getattr(s, name)) or None for name in _LIST_FIELDS})
        rows.append(row)
    return rows


def complexity_distribution(scores: Iterable[ExpressionScore]) -> dict[str, int]:
    """Count expressions per complexity level, plus `invalid` (every key present).

    Examples:
        >>> complexity_distribution([])
        {'trivial': 0, 'simple': 0, 'moderate': 0, 'complex': 0, 'invalid': 0}
    """
    counts = Counter(s.complexity if s.valid else "invalid" for s in scores)
    return {
        key: counts.get(key, 0) for key in ("trivial", "simple", "moderate", "complex", "invalid")
    }


def resolve_bins(bins: ComplexityBins | Sequence[int] | None) -> ComplexityBins:
    """`ComplexityBins` from bins, three upper bounds, or None (the default bins).

    Examples:
        >>> resolve_bins([2, 10, 25])
        ComplexityBins(trivial_max=2, simple_max=10, moderate_max=25)
    """
    if bins is None:
        return ComplexityBins()
    if isinstance(bins, ComplexityBins):
        return bins
    limits = list(bins)
    if len(limits) != 3:
        raise ValueError(
            f"bins must be three upper bounds [trivial_max, simple_max, moderate_max], got {limits}"
        )
    return ComplexityBins(*limits)
