"""`score_expressions`, score rows and the complexity distribution on hand-made metadata."""

from __future__ import annotations

from typing import Any

from prefect_dhis2.expressions import ComplexityBins
from prefect_dhis2.indicators import score_expressions
from prefect_dhis2.indicators.scoring import SCORE_COLUMNS, complexity_distribution, score_rows

ANC1, ANC3, HIVPOS = "fbfJHSPpUQD", "Jtf34kNZhzP", "cYeuwXTCPkU"
FIXED, OUTREACH = "pq2XI5kz2BY", "PT59n8BQbqM"
TARGET = "bWtSzNmVjfv"
STAGE, PI_DE = "A03MvHHogjR", "a3kGcGDCuk6"
OUG = "RXL3lPSK8oG"

NAMES = {
    ANC1: "ANC 1st visit",
    ANC3: "ANC 3rd visit",
    HIVPOS: "HIV positive tests",
    FIXED: "Fixed",
    OUTREACH: "Outreach",
    TARGET: "ANC coverage target",
    STAGE: "Birth",
    PI_DE: "Apgar score",
    OUG: "CHC",
}

INDICATORS: list[dict[str, Any]] = [
    {
        "id": "ReUHfIn0pTQ",
        "name": "ANC 1-3 Dropout Rate",
        "numerator": f"#{{{ANC1}.{FIXED}}} + #{{{ANC1}.{OUTREACH}}} - #{{{ANC3}}}",
        "denominator": f"#{{{ANC1}}} * C{{{TARGET}}}",
    },
    {
        "id": "GmQmuC0d9kJ",
        "name": "HIV positivity",
        "numerator": f"if(isNull(#{{{HIVPOS}}}),0,#{{{HIVPOS}}})",
        "denominator": f"#{{{ANC1}}} +",  # syntax error at the end
    },
    {
        "id": "Xq0Group001",
        "name": "Share of CHCs",
        "numerator": f"orgUnit.group({OUG})",  # not allowed in an indicator
        "denominator": "1",
    },
]
PROGRAM_INDICATORS = [
    {
        "id": "p1Apgar0001",
        "name": "Average Apgar",
        "expression": f"#{{{STAGE}.{PI_DE}}}",
        "filter": f"d2:hasValue(#{{{STAGE}.{PI_DE}}}) && V{{event_date}} > '2024-01-01'",
    },
    {"id": "p2Events001", "name": "Events", "expression": "V{event_count}", "filter": ""},
]
VALIDATION_RULES = [
    {
        "id": "v1Anc13Rule",
        "name": "ANC 1 >= ANC 3",
        "leftSide": {"expression": f"#{{{ANC1}}}"},
        "rightSide": {"expression": f"#{{{ANC3}}} + orgUnit.group({OUG})"},
    }
]


def _by_key(scores: Any) -> dict[tuple[str, str], Any]:
    return {(s.object_id, s.side): s for s in scores}


def _score_all(**kwargs: Any) -> dict[tuple[str, str], Any]:
    return _by_key(
        score_expressions(
            indicators=INDICATORS,
            program_indicators=PROGRAM_INDICATORS,
            validation_rules=VALIDATION_RULES,
            names=NAMES,
            **kwargs,
        )
    )


def test_one_row_per_side_in_order():
    scores = score_expressions(
        indicators=INDICATORS,
        program_indicators=PROGRAM_INDICATORS,
        validation_rules=VALIDATION_RULES,
        names=NAMES,
    )
    assert [(s.object_type, s.object_id, s.side) for s in scores] == [
        ("indicator", "ReUHfIn0pTQ", "numerator"),
        ("indicator", "ReUHfIn0pTQ", "denominator"),
        ("indicator", "GmQmuC0d9kJ", "numerator"),
        ("indicator", "GmQmuC0d9kJ", "denominator"),
        ("indicator", "Xq0Group001", "numerator"),
        ("indicator", "Xq0Group001", "denominator"),
        ("program_indicator", "p1Apgar0001", "expression"),
        ("program_indicator", "p1Apgar0001", "filter"),
        ("program_indicator", "p2Events001", "expression"),  # blank filter: no row
        ("validation_rule", "v1Anc13Rule", "left_side"),
        ("validation_rule", "v1Anc13Rule", "right_side"),
    ]


def test_counts_scores_and_description_of_a_sum():
    s = _score_all()[("ReUHfIn0pTQ", "numerator")]
    assert s.valid and s.object_name == "ANC 1-3 Dropout Rate"
    # 3 operands, 2 operators, no functions, no nesting.
    assert (s.operand_count, s.operator_count, s.function_count, s.nesting_depth) == (3, 2, 0, 0)
    assert s.simple_score == 5 and s.complexity_score == 5 and s.complexity == "simple"
    assert s.operator_counts == {"+": 1, "-": 1}
    assert s.item_counts == {"data_element": 3}
    assert s.data_elements == sorted([ANC1, ANC3])
    assert s.description == "ANC 1st visit Fixed + ANC 1st visit Outreach - ANC 3rd visit"
    assert s.unknown_uids == [] and s.disallowed == []
    den = _score_all()[("ReUHfIn0pTQ", "denominator")]
    assert den.description == "ANC 1st visit * ANC coverage target"
    assert den.item_counts == {"data_element": 1, "constant": 1}


def test_nested_functions_score_and_bins():
    s = _score_all()[("GmQmuC0d9kJ", "numerator")]
    # 2 operands + 0 operators + 2 * 2 calls (if, isNull) + 2 * depth 2 = 10.
    assert (s.operand_count, s.function_count, s.nesting_depth) == (2, 2, 2)
    assert s.function_counts == {"if": 1, "isNull": 1}
    assert s.simple_score == 2 and s.complexity_score == 10
    assert s.complexity == "moderate"  # default bins: <= 20
    assert s.description == "if(isNull(HIV positive tests),0,HIV positive tests)"
    assert s.data_elements == [HIVPOS]
    tight = _score_all(bins=ComplexityBins(1, 4, 9))[("GmQmuC0d9kJ", "numerator")]
    assert tight.complexity == "complex" and tight.complexity_score == 10


def test_syntax_error_has_reason_and_position():
    s = _score_all()[("GmQmuC0d9kJ", "denominator")]
    expression = f"#{{{ANC1}}} +"
    assert s.expression == expression
    assert not s.valid and s.complexity is None and s.description is None
    assert s.error_position == len(expression)  # the operand is missing at the very end
    assert "operand" in (s.error_reason or "")


def test_org_unit_group_is_disallowed_in_an_indicator_only():
    scores = _score_all()
    ind = scores[("Xq0Group001", "numerator")]
    assert ind.valid and ind.disallowed == ["orgUnit.group("]
    assert ind.description == "orgUnit.group(CHC)"
    rule = scores[("v1Anc13Rule", "right_side")]
    assert rule.valid and rule.disallowed == []  # validation rules may use orgUnit.*
    assert rule.description == "ANC 3rd visit + orgUnit.group(CHC)"


def test_program_indicator_expression_and_filter():
    scores = _score_all()
    expression = scores[("p1Apgar0001", "expression")]
    assert expression.description == "Birth Apgar score"  # #{stage.dataElement}
    assert expression.data_elements == [PI_DE]
    assert expression.disallowed == []
    filt = scores[("p1Apgar0001", "filter")]
    assert filt.valid and filt.disallowed == []
    assert filt.function_counts == {"d2:hasValue": 1}
    assert filt.operator_counts == {"&&": 1, ">": 1}
    assert filt.description == "d2:hasValue(Birth Apgar score) && V{event_date} > '2024-01-01'"
    # The same filter is not allowed in an indicator.
    as_indicator = score_expressions(
        indicators=[{"id": "Xq0Filter01", "numerator": filt.expression, "denominator": "1"}]
    )[0]
    assert "d2:hasValue(" in as_indicator.disallowed and "V{}" in as_indicator.disallowed


def test_validation_rule_sides_and_missing_side():
    scores = _score_all()
    left = scores[("v1Anc13Rule", "left_side")]
    assert left.object_type == "validation_rule" and left.description == "ANC 1st visit"
    broken = score_expressions(validation_rules=[{"id": "v2NoRightSd", "leftSide": {}}])
    assert [(s.side, s.valid, s.error_reason) for s in broken] == [
        ("left_side", False, "empty expression"),
        ("right_side", False, "empty expression"),
    ]


def test_unknown_uids_stay_visible_and_default_names_are_the_objects():
    scores = score_expressions(
        indicators=[
            {"id": "Uvn6LCg7dVU", "name": "ANC 1", "numerator": "N{ReUHfIn0pTQ}",
             "denominator": "N{Uvn6LCg7dVU}"},
        ]
    )  # fmt: skip
    num, den = scores
    assert num.description == "ReUHfIn0pTQ" and num.unknown_uids == ["ReUHfIn0pTQ"]
    assert den.description == "ANC 1" and den.unknown_uids == []


def test_rows_distribution_and_columns():
    scores = score_expressions(indicators=INDICATORS, names=NAMES)
    rows = score_rows(scores)
    names = {c.name for c in SCORE_COLUMNS}
    assert all(set(row) <= names for row in rows)
    invalid = [r for r in rows if not r["valid"]]
    assert len(invalid) == 1 and invalid[0].get("complexity_score") is None
    assert invalid[0]["error_position"] == len(INDICATORS[1]["denominator"])
    first = rows[0]
    assert first["operator_counts"] == "+=1;-=1" and first["distinct_data_elements"] == 2
    distribution = complexity_distribution(scores)
    assert sum(distribution.values()) == len(scores) == 6
    assert distribution["invalid"] == 1
    levels = [s.complexity for s in scores if s.valid]
    for level in ("trivial", "simple", "moderate", "complex"):
        assert distribution[level] == levels.count(level)
