"""Analysis: counts, UIDs, depth, scores, bins and context checks (hand-computed)."""

from __future__ import annotations

import pytest

from prefect_dhis2.expressions import (
    ComplexityBins,
    analyze_expression,
    nesting_depth,
    parse_expression,
)

DE_A, DE_B, DE_C = "fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"
COC_1, COC_2 = "pq2XI5kz2BY", "PT59n8BQbqM"
STAGE, PROG, ATTR = "A03MvHHogjR", "IpHINAT79UW", "w75KJ2mc4zz"
DS, OUG_ID, CONST, IND, PI_ID, OU = (
    "QX4ZTUbOt3a",
    "RXL3lPSK8oG",
    "bWtSzNmVjfv",
    "Uvn6LCg7dVU",
    "p2Zxg0wcPQ3",
    "ImspTQPwCqd",
)


def test_sum_of_operands() -> None:
    a = analyze_expression(f"#{{{DE_A}.{COC_1}}}+#{{{DE_A}.{COC_2}}}")
    assert a.valid and a.error is None
    assert a.items == [f"#{{{DE_A}.{COC_1}}}", f"#{{{DE_A}.{COC_2}}}"]
    assert a.item_counts == {"data_element": 2}
    assert a.uids.data_elements == [DE_A]
    assert a.uids.category_option_combos == [COC_2, COC_1]  # sorted: 'P' < 'p'
    assert a.operator_counts == {"+": 1}
    assert a.function_counts == {}
    assert a.nesting_depth == 0
    assert (a.operand_count, a.arithmetic_operator_count, a.simple_score) == (2, 1, 3)
    assert a.complexity_score == 3  # 2 operands + 1 operator
    assert a.complexity == "simple"
    assert a.disallowed == []


def test_sub_expression_counts() -> None:
    a = analyze_expression(f"subExpression(if(#{{{DE_A}}} > 0, 1, 0))")
    assert a.operator_counts == {">": 1}
    assert a.function_counts == {"subExpression": 1, "if": 1}
    assert a.nesting_depth == 2
    assert (a.operand_count, a.arithmetic_operator_count, a.simple_score) == (1, 0, 1)
    # 1 operand + 1 operator + 2*2 calls + 2*2 depth
    assert a.complexity_score == 10
    assert a.complexity == "moderate"


def test_unary_power_constant_and_days() -> None:
    a = analyze_expression(f"-#{{{DE_A}}}^2 + C{{{CONST}}} * [days]")
    assert a.item_counts == {"data_element": 1, "constant": 1, "days": 1}
    assert a.operator_counts == {"unary -": 1, "^": 1, "+": 1, "*": 1}
    assert a.arithmetic_operator_count == 4
    assert a.simple_score == 7
    assert a.nesting_depth == 0
    assert a.complexity_score == 7
    assert a.uids.constants == [CONST]


def test_repeated_items_and_depth() -> None:
    a = analyze_expression(f"if(isNull(#{{{DE_A}}}),0,#{{{DE_A}}}) / (#{{{DE_B}}} + #{{{DE_C}}})")
    assert a.operand_count == 4
    assert a.uids.data_elements == [DE_C, DE_B, DE_A]  # 'J' < 'c' < 'f'
    assert a.operator_counts == {"/": 1, "+": 1}
    assert a.function_counts == {"if": 1, "isNull": 1}
    assert a.nesting_depth == 2
    assert a.simple_score == 6
    assert a.complexity_score == 14  # 4 + 2 + 2*2 + 2*2


def test_regex_style_score_counts_all_items_and_arithmetic_only() -> None:
    a = analyze_expression(f"#{{{DE_A}}} > 0 && #{{{DE_B}}} * 2 != C{{{CONST}}}")
    assert a.operand_count == 3
    assert a.arithmetic_operator_count == 1
    assert a.simple_score == 4
    assert sum(a.operator_counts.values()) == 4  # > && * !=


def test_every_uid_kind() -> None:
    text = (
        f"#{{deGroup:{DE_A}.coGroup:{COC_1}&{COC_2}.co:{DE_C}}} + #{{{DE_B}.*.{COC_1}}}"
        f" + A{{{PROG}.{ATTR}}} + D{{{PROG}.{DE_C}}} + I{{{PI_ID}}} + N{{{IND}}}"
        f" + R{{{DS}.REPORTING_RATE}} + OUG{{{OUG_ID}}} + C{{{CONST}}}"
        f" + orgUnit.ancestor({OU}) + orgUnit.dataSet({DS}) + orgUnit.program({PROG})"
    )
    u = analyze_expression(text, "validation_rule").uids
    assert u.data_element_groups == [DE_A]
    assert u.category_option_groups == [COC_2, COC_1]
    assert u.category_options == [DE_C]
    assert u.data_elements == [DE_C, DE_B]
    assert u.attribute_option_combos == [COC_1]
    assert u.category_option_combos == []
    assert u.programs == [PROG]
    assert u.tracked_entity_attributes == [ATTR]
    assert u.program_indicators == [PI_ID]
    assert u.indicators == [IND]
    assert u.data_sets == [DS]
    assert u.org_unit_groups == [OUG_ID]
    assert u.constants == [CONST]
    assert u.org_units == [OU]
    assert len(u.all()) == 13  # DE_A DE_B DE_C COC_1 COC_2 PROG ATTR PI IND DS OUG CONST OU
    assert u.by_uid()[OU] == "org_units"


@pytest.mark.parametrize(
    ("text", "context", "disallowed"),
    [
        (
            f"orgUnit.group({OUG_ID}) && sum(#{{{DE_A}}}) > 0",
            "indicator",
            ["orgUnit.group(", "sum("],
        ),
        (f"orgUnit.group({OUG_ID}) && sum(#{{{DE_A}}}) > 0", "validation_rule", ["sum("]),
        (f"orgUnit.group({OUG_ID}) && sum(#{{{DE_A}}}) > 0", "predictor", []),
        (f"N{{{IND}}} / #{{{DE_A}}}.periodOffset(-1)", "indicator", []),
        (
            f"N{{{IND}}} / #{{{DE_A}}}.periodOffset(-1)",
            "validation_rule",
            ["N{}", ".periodOffset("],
        ),
        (f"d2:hasValue(#{{{STAGE}.{DE_A}}}) && V{{event_date}} > 0", "program_indicator", []),
        (
            f"d2:hasValue(#{{{STAGE}.{DE_A}}}) && V{{event_date}} > 0",
            "indicator",
            ["d2:hasValue(", "V{}"],
        ),
        ("[periodInYear] / [yearlyPeriodCount]", "indicator", []),
        (
            "[periodInYear] / [yearlyPeriodCount]",
            "predictor",
            ["[periodInYear]", "[yearlyPeriodCount]"],
        ),
        (f"A{{{ATTR}}} + 1", "indicator", ["A{a}"]),
        (f"A{{{PROG}.{ATTR}}} + 1", "indicator", []),
        ("normDistCum(1) + subExpression(1)", "predictor", ["subExpression("]),
        ("normDistCum(1)", "indicator", ["normDistCum("]),
        (f"#{{{DE_A}}}.stageOffset(1)", "indicator", [".stageOffset("]),
        (f"#{{{STAGE}.{DE_A}}}.stageOffset(1)", "program_indicator", []),
    ],
)
def test_disallowed_constructs_per_context(text: str, context: str, disallowed: list[str]) -> None:
    assert analyze_expression(text, context).disallowed == disallowed  # type: ignore[arg-type]


def test_program_indicator_context_reads_stage_and_data_element() -> None:
    a = analyze_expression(f"#{{{STAGE}.{DE_A}}} * 2", "program_indicator")
    assert a.uids.program_stages == [STAGE]
    assert a.uids.data_elements == [DE_A]
    assert a.uids.category_option_combos == []


def test_invalid_expression_gives_invalid_analysis() -> None:
    a = analyze_expression("if(#{fbfJHSPpUQD}, 1")
    assert not a.valid
    assert a.error is not None
    assert a.error.position == 20
    assert "to close 'if('" in a.error.reason
    assert a.complexity is None
    assert a.items == [] and a.operand_count == 0
    assert a.model_dump()["error"]["position"] == 20


def test_custom_bins() -> None:
    text = f"#{{{DE_A}}}+#{{{DE_B}}}"  # score 3
    assert analyze_expression(text).complexity == "simple"
    bins = ComplexityBins(trivial_max=0, simple_max=2, moderate_max=3)
    assert analyze_expression(text, bins=bins).complexity == "moderate"
    assert analyze_expression(f"#{{{DE_A}}}").complexity == "trivial"
    with pytest.raises(ValueError, match="trivial_max < simple_max"):
        ComplexityBins(trivial_max=5, simple_max=5, moderate_max=9)


def test_unknown_context_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown expression context"):
        analyze_expression("1", "dashboard")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("((#{fbfJHSPpUQD}))", 0),
        ("(#{fbfJHSPpUQD}+#{cYeuwXTCPkU})/#{Jtf34kNZhzP}", 1),
        ("#{fbfJHSPpUQD}.periodOffset(1)", 1),
        ("(#{fbfJHSPpUQD}+1).periodOffset(1)", 1),
        ("if(1,(2+3)*4,0)", 2),
        ("-(1+2)", 1),
        ("2^(3^2)", 0),
        ("(2^3)^2", 1),
        ("greatest(least(log(1)))", 3),
        (f"orgUnit.group({OUG_ID})", 1),
    ],
)
def test_nesting_depth(text: str, depth: int) -> None:
    assert nesting_depth(parse_expression(text)) == depth
