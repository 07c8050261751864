"""Descriptions (names in place of UIDs) and indicator dependency analysis."""

from __future__ import annotations

import pytest

from prefect_dhis2.expressions import (
    DependencyGraph,
    ExpressionSyntaxError,
    data_set_elements_from_metadata,
    describe_expression,
    describe_expression_details,
    expression_dependencies,
    find_missing_references,
    parse_expression,
)

DE_A, DE_B, DE_C = "fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"
COC_1, COC_2 = "pq2XI5kz2BY", "PT59n8BQbqM"
DS, DS_2, OUG_ID, CONST, STAGE = (
    "QX4ZTUbOt3a",
    "BfMAe6Itzgt",
    "RXL3lPSK8oG",
    "bWtSzNmVjfv",
    "A03MvHHogjR",
)
IND_1, IND_2, IND_3 = "Uvn6LCg7dVU", "ReUHfIn0pTQ", "OdiHJayrsKo"
UNKNOWN = "xxxxxxxxxxx"

NAMES = {
    DE_A: "ANC 1st visit",
    DE_B: "ANC 2nd visit",
    COC_1: "Fixed",
    COC_2: "Outreach",
    CONST: "Population",
    DS: "Reproductive Health",
    OUG_ID: "CHP",
    STAGE: "ANC stage",
}


@pytest.mark.parametrize(
    ("text", "description"),
    [
        (
            f"#{{{DE_A}.{COC_1}}}+#{{{DE_A}.{COC_2}}}",
            "ANC 1st visit Fixed+ANC 1st visit Outreach",
        ),
        (f"#{{{DE_A}}} / C{{{CONST}}} * 100", "ANC 1st visit / Population * 100"),
        (f"R{{{DS}.REPORTING_RATE}}", "Reproductive Health Reporting rate"),
        (f"R{{{DS}.EXPECTED_REPORTS}}", "Reproductive Health Expected reports"),
        (f"#{{{DE_A}.*}}", "ANC 1st visit"),
        (f"#{{{DE_A}.coGroup:{COC_1}&{COC_2}}}", "ANC 1st visit Fixed & Outreach"),
        (f"orgUnit.group({OUG_ID}) && [days] > 1", "orgUnit.group(CHP) && [days] > 1"),
        (f"PS_EVENTDATE: {STAGE}", "PS_EVENTDATE:ANC stage"),
        (f"/* total */ #{{{DE_B}}}", "/* total */ ANC 2nd visit"),
        ("V{event_date} + 1", "V{event_date} + 1"),
    ],
)
def test_describe_expression(text: str, description: str) -> None:
    assert describe_expression(text, NAMES) == description


def test_unknown_uids_stay_visible_and_are_reported() -> None:
    details = describe_expression_details(
        f"#{{{DE_A}.{UNKNOWN}}} + C{{abcdefghijk}} + #{{{DE_A}.{UNKNOWN}}}", NAMES
    )
    assert details.description == f"ANC 1st visit {UNKNOWN} + abcdefghijk + ANC 1st visit {UNKNOWN}"
    assert details.unknown_uids == (UNKNOWN, "abcdefghijk")
    assert str(details) == details.description


def test_describe_tree_uses_canonical_text() -> None:
    tree = parse_expression(f"( #{{{DE_A}}} + 1 ) * 2")
    assert describe_expression(tree, NAMES) == "(ANC 1st visit+1)*2"


def test_describe_invalid_expression_raises() -> None:
    with pytest.raises(ExpressionSyntaxError):
        describe_expression(f"#{{{DE_A}", NAMES)


INDICATORS = [
    {
        "id": IND_1,
        "name": "ANC visits",
        "numerator": f"#{{{DE_A}}}+#{{{DE_B}}}",
        "denominator": "1",
    },
    {
        "id": IND_2,
        "name": "ANC ratio",
        "numerator": f"N{{{IND_1}}}",
        "denominator": f"#{{{DE_C}.{COC_1}}}",
    },
    # Cycle through N{} must not loop forever.
    {"id": IND_3, "name": "Loop", "numerator": f"N{{{IND_3}}}+#{{{DE_C}}}", "denominator": "("},
]
DATA_SETS = [
    {"id": DS, "dataSetElements": [{"dataElement": {"id": DE_A}}, {"dataElement": {"id": DE_B}}]},
    {"id": DS_2, "dataSetElements": [{"dataElement": {"id": DE_C}}]},
]


def test_dependency_graph() -> None:
    graph = DependencyGraph(INDICATORS, data_set_elements_from_metadata(DATA_SETS))
    assert graph.data_elements_of(IND_1) == {DE_A, DE_B}
    assert graph.data_elements_of(IND_2) == {DE_A, DE_B, DE_C}
    assert graph.data_elements_of(IND_2, transitive=False) == {DE_C}
    assert graph.data_elements_of(IND_3) == {DE_C}
    assert graph.data_sets_of(IND_1) == {DS}
    assert graph.data_sets_of(IND_2) == {DS, DS_2}
    assert graph.indicators_using(DE_A) == {IND_1, IND_2}
    assert graph.indicators_using(DE_C, transitive=False) == {IND_2, IND_3}
    assert graph.indicators[IND_3].errors["denominator"].position == 1
    assert (IND_2, IND_1, "indicator") in graph.edges()
    assert (DE_C, DS_2, "data_set") in graph.edges()
    assert (IND_1, DE_A, "data_element") in graph.edges()
    assert len(graph.edges()) == 9  # 4 indicator->DE, 2 indicator->indicator, 3 DE->DS


def test_data_set_elements_from_metadata() -> None:
    assert data_set_elements_from_metadata(DATA_SETS) == {DS: {DE_A, DE_B}, DS_2: {DE_C}}


def test_find_missing_references() -> None:
    known = {DE_A, DE_B, IND_1, IND_3}
    missing = find_missing_references(INDICATORS, known)
    summary = [(m.indicator, m.side, m.uid, m.kind) for m in missing]
    assert summary == [
        (IND_2, "denominator", DE_C, "data_elements"),
        (IND_2, "denominator", COC_1, "category_option_combos"),
        (IND_3, "numerator", DE_C, "data_elements"),
        (IND_3, "denominator", None, "invalid_expression"),
    ]
    assert missing[0].name == "ANC ratio"
    assert "position 1" in missing[3].detail


def test_nothing_missing_when_all_known() -> None:
    everything = {DE_A, DE_B, DE_C, COC_1, IND_1, IND_2}
    assert find_missing_references(INDICATORS[:2], everything) == []


def test_expression_dependencies() -> None:
    deps = expression_dependencies(f"#{{{DE_A}.{COC_1}}}/C{{{CONST}}}")
    assert deps.data_elements == [DE_A]
    assert deps.category_option_combos == [COC_1]
    assert deps.constants == [CONST]
