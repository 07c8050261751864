"""Evaluation with hand-computed values and DHIS2's missing-value behaviour."""

from __future__ import annotations

import math

import pytest

from prefect_dhis2.expressions import (
    ExpressionEvaluationError,
    Item,
    evaluate_expression,
    parse_expression,
)

DE_A, DE_B, DE_C = "fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"
CONST = "bWtSzNmVjfv"
A, B, C = f"#{{{DE_A}}}", f"#{{{DE_B}}}", f"#{{{DE_C}}}"
K = f"C{{{CONST}}}"

# A has a value; B and C are missing.
VALUES: dict[str, float | None] = {A: 10.0, B: None, C: None, K: 100.0}


def resolve(item: Item) -> float | None:
    return VALUES[item.text]


def no_items(item: Item) -> float | None:
    raise AssertionError(f"unexpected item {item.text}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-2^2", -4.0),
        ("2^3^2", 512.0),
        ("(2^3)^2", 64.0),
        ("7 % 4", 3.0),
        ("-7 % 4", -3.0),
        ("if(1 > 2, 3, 4)", 4.0),
        ("if(2 > 1, 3, 4)", 3.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("8 / 2 / 2", 2.0),
        ("2^-1", 0.5),
        ("1 - -1", 2.0),
        ("log(8, 2)", 3.0),
        ("log10(1000)", 3.0),
        ("greatest(1, 5, 3)", 5.0),
        ("least(4, 2)", 2.0),
        ("1 < 2", 1.0),
        ("1 == 2", 0.0),
        ("2 >= 2", 1.0),
        ("!true", 0.0),
        ("true && false || true", 1.0),
        ("not 0", 1.0),
        ("removeZeros(3)", 3.0),
        ("subExpression(2 * 3)", 6.0),
        ("is(2 in 1, 2, 3)", 1.0),
        ("is(5 in 1, 2, 3)", 0.0),
        ("'a' == 'a'", 1.0),
        ("contains('abcdef', 'bc', 'ef')", 1.0),
        ("containsItems('a,bc', 'b')", 0.0),
        ("normDistCum(0)", 0.5),
        ("firstNonNull(null, 4, 5)", 4.0),
    ],
)
def test_constant_expressions(text: str, expected: float) -> None:
    assert evaluate_expression(text, no_items) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["1 / 0", "5 % 0", "log(0)", "log(-1)", "removeZeros(0)", "null + 1", "if(null, 1, 2)"]
)
def test_null_results(text: str) -> None:
    assert evaluate_expression(text, no_items) is None


def test_norm_dist_density_at_zero() -> None:
    assert evaluate_expression("normDistDen(0)", no_items) == pytest.approx(
        1 / math.sqrt(2 * math.pi)
    )


def test_period_variables() -> None:
    assert evaluate_expression("[days] * 2", no_items, days=31) == 62.0
    assert (
        evaluate_expression(
            "[periodInYear] / [yearlyPeriodCount]",
            no_items,
            period_in_year=3,
            yearly_period_count=12,
        )
        == 0.25
    )
    with pytest.raises(ExpressionEvaluationError, match=r"\[days\]"):
        evaluate_expression("[days]", no_items)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{A} + {B}", 10.0),  # B missing counts as 0
        (f"{B} * 2 + {A}", 10.0),
        (f"{B} + {C}", None),  # every data item missing
        (f"{B} + {C} + 1", None),
        (f"isNull({B})", None),  # its only data item is missing
        (f"isNull({B}) + {A}", 11.0),  # isNull sees the null, not 0
        (f"isNotNull({B}) + {A}", 10.0),
        (f"if(isNull({B}), -1, {B}) + {A} * 0", -1.0),
        (f"firstNonNull({B}, {A}, 5)", 10.0),
        (f"{A} / {B}", None),  # B counts as 0: divide by zero
        (f"{A} / {K}", 0.1),
        (K, 100.0),  # no data items: the strategy does not apply
        (f"{A} + {A} * {A}", 110.0),
    ],
)
def test_skip_if_all_values_missing(text: str, expected: float | None) -> None:
    result = evaluate_expression(text, resolve)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_other_missing_value_strategies() -> None:
    assert (
        evaluate_expression(
            f"{A} + {B}", resolve, missing_value_strategy="SKIP_IF_ANY_VALUE_MISSING"
        )
        is None
    )
    assert evaluate_expression(f"{B} + {C}", resolve, missing_value_strategy="NEVER_SKIP") == 0.0


def test_each_item_resolved_once() -> None:
    calls: list[str] = []

    def counting(item: Item) -> float | None:
        calls.append(item.text)
        return VALUES[item.text]

    assert evaluate_expression(parse_expression(f"{A} + {A} * {A} - {B}"), counting) == 110.0
    assert calls == [A, B]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"sum({A})", "sum"),
        (f"{A}.periodOffset(-1)", "periodOffset"),
        ("orgUnit.group(RXL3lPSK8oG)", "orgUnit.group"),
        ("d2:ceil(1.5)", "d2:ceil"),
        ("V{event_date}", "V{event_date}"),
        ("'abc'", "string"),
        ("C{abcdefghijk}", "no value"),
    ],
)
def test_not_evaluable(text: str, message: str) -> None:
    values = dict(VALUES)
    values["C{abcdefghijk}"] = None
    with pytest.raises(ExpressionEvaluationError, match=message):
        evaluate_expression(text, lambda item: values[item.text])
