"""The emulator's compiled indicator evaluation, with values worked out by hand."""

from __future__ import annotations

import pytest

from prefect_dhis2.expressions.syntax import Item
from prefect_dhis2.testing.analytics.indicators import (
    evaluate_expression,
    parse_indicator_expression,
)

VALUES = {"deAAAAAAAAA": 10.0, "deBBBBBBBBB": 4.0}  # deCCCCCCCCC has no data


def value_of(item: Item, offset: int) -> float | None:
    if item.parts[0] == "deAAAAAAAAA" and offset == -1:
        return 7.0  # last period's value
    return VALUES.get(item.parts[0])


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("#{deAAAAAAAAA} + #{deBBBBBBBBB} * 2", 18.0),
        ("-2^2", -4.0),
        ("2^3^2", 512.0),
        ("#{deAAAAAAAAA} + #{deCCCCCCCCC}", 10.0),  # a missing item counts as 0 ...
        ("#{deCCCCCCCCC} * 3", None),  # ... unless every item is missing
        ("isNull(#{deCCCCCCCCC})", None),  # its only data item is missing
        ("isNull(#{deCCCCCCCCC}) + #{deAAAAAAAAA}", 11.0),
        ("isNotNull(#{deAAAAAAAAA})", 1.0),
        ("firstNonNull(#{deCCCCCCCCC}, #{deBBBBBBBBB}, 99)", 4.0),
        ("if(#{deAAAAAAAAA} > 5, 1, 0)", 1.0),
        ("#{deAAAAAAAAA} / 0", None),
        ("7 % 4", 3.0),
        ("greatest(#{deAAAAAAAAA}, #{deBBBBBBBBB}, 12)", 12.0),
        ("least(#{deAAAAAAAAA}, #{deBBBBBBBBB})", 4.0),
        ("log10(100)", 2.0),
        ("removeZeros(0)", None),
        ("#{deAAAAAAAAA}.periodOffset(-1) + #{deAAAAAAAAA}", 17.0),
        ("#{deAAAAAAAAA} == 10 && #{deBBBBBBBBB} != 4", 0.0),
        ("subExpression(#{deBBBBBBBBB} + 1)", 5.0),
    ],
)
def test_values(expression: str, expected: float | None):
    tree = parse_indicator_expression(expression)
    assert evaluate_expression(tree, value_of) == expected
    assert evaluate_expression(tree, value_of) == expected  # the compiled form is reused


def test_untaken_branch_neither_counts_nor_fails():
    # Only the taken branch is evaluated: its missing item makes the result missing,
    # and the unsupported construct in the other branch is never reached.
    tree = parse_indicator_expression("if(1 > 2, orgUnit.group(abcdefghijk), #{deCCCCCCCCC})")
    assert evaluate_expression(tree, value_of) is None
    reached = parse_indicator_expression("if(1 < 2, orgUnit.group(abcdefghijk), 1)")
    with pytest.raises(ValueError, match="Unsupported"):
        evaluate_expression(reached, value_of)
