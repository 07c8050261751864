"""Local evaluation of expressions from item values (e.g. for the DHIS2 emulator).

Semantics (following dhis2-core's expression visitor):

- **Data items** (`#{}`, `A{}`, `D{}`, `I{}`, `N{}`, `R{}`) get their values from
  `resolve_item`; None means the value is missing. The missing-value strategy
  applies to them: with ``SKIP_IF_ALL_VALUES_MISSING`` (the default, used for
  indicators) the result is None when the expression has data items and all
  are missing; ``SKIP_IF_ANY_VALUE_MISSING`` gives None when any is missing;
  ``NEVER_SKIP`` never skips. When not skipped, a missing value counts as 0,
  except inside `isNull`, `isNotNull` and `firstNonNull`, which see it as null.
- **Constants** `C{}` and **org unit group counts** `OUG{}` also come from
  `resolve_item`; None for them is an error (DHIS2 rejects unknown ones).
- `[days]`, `[periodInYear]` and `[yearlyPeriodCount]` come from the keyword
  arguments; using one that was not given is an error.
- Arithmetic with a null operand is null. Division or modulus by zero, the
  logarithm of a non-positive number, and any non-finite result are null.
  `%` keeps the sign of the dividend (as in Java: ``-7 % 4`` is -3).
- Comparisons give booleans (null if an operand is null); `&&`/`||` use
  three-valued logic (``null && false`` is false, ``null && true`` is null).
  Booleans used as numbers are 1 and 0; a final boolean result is 1.0 or 0.0.
- `if(c,a,b)` is null when `c` is null. `greatest`/`least` ignore nulls.
  `removeZeros(x)` is null when x is 0. `subExpression(x)` evaluates x.
  `log(x, base)`, `log10`, `normDistCum(x, mean=0, sd=1)`, `normDistDen`,
  `is(x in a, ...)`, `contains(s, ...)` and `containsItems(s, ...)` are supported.
- Not evaluable locally (raise `ExpressionEvaluationError`): aggregate functions,
  `orgUnit.*`, dot functions (`.periodOffset(...)` etc.), `d2:*` functions,
  `V{}` and `PS_EVENTDATE:`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from prefect_dhis2.expressions.errors import ExpressionEvaluationError
from prefect_dhis2.expressions.parser import parse_expression
from prefect_dhis2.expressions.syntax import (
    BinaryOp,
    BooleanLiteral,
    Expression,
    FunctionCall,
    Item,
    ItemKind,
    NullLiteral,
    NumberLiteral,
    OrgUnitFunction,
    PostfixFunction,
    StringLiteral,
    UnaryOp,
)

__all__ = ["DATA_ITEM_KINDS", "MissingValueStrategy", "evaluate_expression"]

MissingValueStrategy = Literal[
    "SKIP_IF_ALL_VALUES_MISSING", "SKIP_IF_ANY_VALUE_MISSING", "NEVER_SKIP"
]

#: Item kinds whose missing values the missing-value strategy looks at.
DATA_ITEM_KINDS = frozenset(
    {
        ItemKind.DATA_ELEMENT,
        ItemKind.ATTRIBUTE,
        ItemKind.PROGRAM_DATA_ELEMENT,
        ItemKind.PROGRAM_INDICATOR,
        ItemKind.INDICATOR,
        ItemKind.REPORTING_RATE,
    }
)

_Value = float | bool | str | None
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def evaluate_expression(
    tree: Expression | str,
    resolve_item: Callable[[Item], float | None],
    *,
    days: int | None = None,
    period_in_year: int | None = None,
    yearly_period_count: int | None = None,
    missing_value_strategy: MissingValueStrategy = "SKIP_IF_ALL_VALUES_MISSING",
) -> float | None:
    """Compute the value of an expression (see the module docstring for the rules).

    Args:
        tree: A syntax tree, or expression text to parse first.
        resolve_item: Returns the value of an item (data items, `C{}`,
            `OUG{}`), or None when missing. Called once per distinct item.
        days: Value of `[days]` (days in the period).
        period_in_year: Value of `[periodInYear]`.
        yearly_period_count: Value of `[yearlyPeriodCount]`.
        missing_value_strategy: How missing data item values are treated.

    Returns:
        The value, or None when there is none (skipped, null, divide by zero...).

    Raises:
        ExpressionEvaluationError: For constructs that need the server
            (aggregates, `orgUnit.*`, dot functions, `d2:*`), for a `[days]`-style
            item whose value was not given, or for a string result.
        ExpressionSyntaxError: If `tree` is text that does not parse.

    Examples:
        >>> values = {"#{fbfJHSPpUQD}": 10.0, "#{cYeuwXTCPkU}": None}
        >>> evaluate_expression("#{fbfJHSPpUQD} + #{cYeuwXTCPkU}", lambda i: values[i.text])
        10.0
        >>> evaluate_expression("#{cYeuwXTCPkU} * 2", lambda i: values[i.text]) is None
        True
        >>> evaluate_expression("-2^2 + 7 % 4 + [days]", lambda i: None, days=31)
        30.0
    """
    if isinstance(tree, str):
        tree = parse_expression(tree)
    evaluator = _Evaluator(resolve_item, days, period_in_year, yearly_period_count)
    data_values = [evaluator.item_value(item) for item in _data_items(tree)]
    if data_values:
        missing = sum(value is None for value in data_values)
        if missing == len(data_values) and missing_value_strategy != "NEVER_SKIP":
            return None
        if missing and missing_value_strategy == "SKIP_IF_ANY_VALUE_MISSING":
            return None
    result = evaluator.eval(tree, allow_null=False)
    if result is None:
        return None
    if isinstance(result, str):
        raise ExpressionEvaluationError("the expression evaluates to a string, not a number")
    number = float(result)
    return number if math.isfinite(number) else None


def _data_items(tree: Expression) -> list[Item]:
    """Distinct data items of the tree, in order of first appearance."""
    found: dict[Item, None] = {}
    stack: list[Expression] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Item):
            if node.kind in DATA_ITEM_KINDS:
                found[node] = None
        elif isinstance(node, BinaryOp):
            stack.extend((node.right, node.left))
        elif isinstance(node, UnaryOp):
            stack.append(node.operand)
        elif isinstance(node, FunctionCall):
            stack.extend(reversed(node.args))
        elif isinstance(node, PostfixFunction):
            stack.append(node.operand)
    return list(found)


def _number(value: _Value) -> float | None:
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int):
        return float(value)
    raise ExpressionEvaluationError(f"expected a number, got the string {value!r}")


def _boolean(value: _Value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float | int):
        return value != 0
    raise ExpressionEvaluationError(f"expected a boolean, got the string {value!r}")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _equal(left: _Value, right: _Value) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        return left == right
    return _number(left) == _number(right)


class _Evaluator:
    def __init__(
        self,
        resolve_item: Callable[[Item], float | None],
        days: int | None,
        period_in_year: int | None,
        yearly_period_count: int | None,
    ) -> None:
        self.resolve_item = resolve_item
        self.cache: dict[Item, float | None] = {}
        self.period_values = {
            ItemKind.DAYS: days,
            ItemKind.PERIOD_IN_YEAR: period_in_year,
            ItemKind.YEARLY_PERIOD_COUNT: yearly_period_count,
        }

    def item_value(self, item: Item) -> float | None:
        if item not in self.cache:
            value = self.resolve_item(item)
            self.cache[item] = None if value is None else float(value)
        return self.cache[item]

    def eval(self, node: Expression, allow_null: bool) -> _Value:
        if isinstance(node, NumberLiteral):
            return node.value
        if isinstance(node, Item):
            return self.item(node, allow_null)
        if isinstance(node, BinaryOp):
            return self.binary(node)
        if isinstance(node, UnaryOp):
            operand = self.eval(node.operand, False)
            if node.op == "!":
                truth = _boolean(operand)
                return None if truth is None else not truth
            number = _number(operand)
            if number is None:
                return None
            return -number if node.op == "-" else number
        if isinstance(node, FunctionCall):
            return self.call(node)
        if isinstance(node, StringLiteral):
            return node.value
        if isinstance(node, BooleanLiteral):
            return node.value
        if isinstance(node, NullLiteral):
            return None
        if isinstance(node, PostfixFunction):
            raise ExpressionEvaluationError(
                f"'.{node.name}(' needs the server's data and cannot be evaluated locally"
            )
        if isinstance(node, OrgUnitFunction):
            raise ExpressionEvaluationError(
                f"'orgUnit.{node.name}(' needs the org unit hierarchy and cannot be "
                "evaluated locally"
            )
        raise TypeError(f"not an expression node: {node!r}")

    def item(self, item: Item, allow_null: bool) -> _Value:
        kind = item.kind
        if kind in DATA_ITEM_KINDS:
            value = self.item_value(item)
            if value is None and not allow_null:
                return 0.0
            return value
        if kind is ItemKind.CONSTANT or kind is ItemKind.ORG_UNIT_GROUP:
            value = self.item_value(item)
            if value is None:
                raise ExpressionEvaluationError(f"no value for {item.text}")
            return value
        if kind in self.period_values:
            period_value = self.period_values[kind]
            if period_value is None:
                raise ExpressionEvaluationError(
                    f"{item.text} needs a value (pass it as an argument)"
                )
            return float(period_value)
        raise ExpressionEvaluationError(f"{item.text} cannot be evaluated locally")

    def binary(self, node: BinaryOp) -> _Value:
        op = node.op
        left = self.eval(node.left, False)
        right = self.eval(node.right, False)
        if op == "&&" or op == "||":
            a, b = _boolean(left), _boolean(right)
            if op == "&&":
                if a is False or b is False:
                    return False
                return None if a is None or b is None else True
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        if left is None or right is None:
            return None
        if op == "==":
            return _equal(left, right)
        if op == "!=":
            return not _equal(left, right)
        if op in ("<", ">", "<=", ">="):
            if isinstance(left, str) and isinstance(right, str):
                x: float | str = left
                y: float | str = right
            else:
                x, y = float(_number(left) or 0.0), float(_number(right) or 0.0)
            if op == "<":
                return x < y  # type: ignore[operator]
            if op == ">":
                return x > y  # type: ignore[operator]
            if op == "<=":
                return x <= y  # type: ignore[operator]
            return x >= y  # type: ignore[operator]
        a_num, b_num = _number(left), _number(right)
        assert a_num is not None and b_num is not None
        if op == "+":
            return _finite(a_num + b_num)
        if op == "-":
            return _finite(a_num - b_num)
        if op == "*":
            return _finite(a_num * b_num)
        if op == "/":
            return None if b_num == 0 else _finite(a_num / b_num)
        if op == "%":
            return None if b_num == 0 else math.fmod(a_num, b_num)
        # op == "^"
        try:
            return _finite(math.pow(a_num, b_num))
        except (OverflowError, ValueError):
            return None

    def numbers(self, args: tuple[Expression, ...]) -> list[float | None]:
        return [_number(self.eval(arg, False)) for arg in args]

    def call(self, node: FunctionCall) -> _Value:
        name, args = node.name, node.args
        if name == "if":
            condition = _boolean(self.eval(args[0], False))
            if condition is None:
                return None
            return self.eval(args[1] if condition else args[2], False)
        if name == "isNull":
            return self.eval(args[0], True) is None
        if name == "isNotNull":
            return self.eval(args[0], True) is not None
        if name == "firstNonNull":
            for arg in args:
                value = self.eval(arg, True)
                if value is not None:
                    return value
            return None
        if name == "greatest" or name == "least":
            present = [v for v in self.numbers(args) if v is not None]
            if not present:
                return None
            return max(present) if name == "greatest" else min(present)
        if name == "subExpression":
            return self.eval(args[0], False)
        if name == "removeZeros":
            value = self.eval(args[0], False)
            return None if value is None or _number(value) == 0 else value
        if name == "log" or name == "log10":
            values = self.numbers(args)
            if any(v is None for v in values):
                return None
            x = values[0]
            assert x is not None
            if x <= 0:
                return None
            if name == "log10":
                return math.log10(x)
            if len(values) == 1:
                return math.log(x)
            base = values[1]
            assert base is not None
            if base <= 0 or base == 1:
                return None
            return math.log(x) / math.log(base)
        if name == "normDistCum" or name == "normDistDen":
            return self.norm_dist(name, self.numbers(args))
        if name == "is":
            subject = self.eval(args[0], False)
            if subject is None:
                return None
            return any(_equal(subject, self.eval(arg, False)) for arg in args[1:])
        if name == "contains" or name == "containsItems":
            operands = [self.eval(arg, False) for arg in args]
            if operands[0] is None:
                return None
            haystack = str(operands[0])
            needles = [str(v) for v in operands[1:] if v is not None]
            if name == "contains":
                return all(needle in haystack for needle in needles)
            members = set(haystack.split(","))
            return all(needle in members for needle in needles)
        raise ExpressionEvaluationError(f"'{name}(' cannot be evaluated locally")

    @staticmethod
    def norm_dist(name: str, values: list[float | None]) -> float | None:
        if any(v is None for v in values):
            return None
        x = values[0]
        mean = values[1] if len(values) > 1 else 0.0
        sd = values[2] if len(values) > 2 else 1.0
        assert x is not None and mean is not None and sd is not None
        if sd <= 0:
            return None
        z = (x - mean) / sd
        if name == "normDistCum":
            return 0.5 * (1.0 + math.erf(z / _SQRT2))
        return math.exp(-0.5 * z * z) / (sd * _SQRT2PI)
