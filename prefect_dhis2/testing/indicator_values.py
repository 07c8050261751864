"""Evaluate indicator numerators and denominators for the emulator's analytics.

Expressions are parsed by `prefect_dhis2.expressions` into a syntax tree; this module walks
the tree with a callback that supplies item values (`#{de}`, `#{de.coc}`, `C{...}`, `[days]`,
...). Missing item values follow DHIS2's `SKIP_IF_ALL_VALUES_MISSING`: when every data item
of an expression is missing the expression has no value; otherwise missing items count as 0
(while `isNull`, `isNotNull` and `firstNonNull` still see them as missing).

Example:
    >>> tree = parse_indicator_expression("#{fbfJHSPpUQD} + 2")
    >>> evaluate_expression(tree, lambda item: 40.0)
    42.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from prefect_dhis2.expressions.syntax import (
    BinaryOp,
    BooleanLiteral,
    FunctionCall,
    Item,
    ItemKind,
    NullLiteral,
    NumberLiteral,
    PostfixFunction,
    StringLiteral,
    UnaryOp,
)

__all__ = ["collect_items", "evaluate_expression", "parse_indicator_expression"]

ItemValue = Callable[[Item, int], float | None]
"""Callback giving an item's value (None when missing) at a period offset."""

_DATA_KINDS = frozenset(
    {ItemKind.DATA_ELEMENT, ItemKind.INDICATOR, ItemKind.REPORTING_RATE, ItemKind.ORG_UNIT_GROUP}
)


@lru_cache(maxsize=4096)
def parse_indicator_expression(text: str) -> Any:
    """Parse (and cache) an indicator expression into a syntax tree.

    Raises:
        ValueError: If the expression is not valid DHIS2 expression syntax.
    """
    from prefect_dhis2.expressions import parse_expression

    return parse_expression(text)


def collect_items(tree: Any) -> list[Item]:
    """All items referenced by an expression tree (with repetitions)."""
    out: list[Item] = []

    def walk(node: Any) -> None:
        if isinstance(node, Item):
            out.append(node)
        elif isinstance(node, UnaryOp):
            walk(node.operand)
        elif isinstance(node, BinaryOp):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, FunctionCall):
            for arg in node.args:
                walk(arg)
        elif isinstance(node, PostfixFunction):
            walk(node.operand)

    walk(tree)
    return out


class _Missing:
    """Sentinel for a missing value inside the evaluation (behaves as 0 in arithmetic)."""


MISSING: Any = _Missing()


def evaluate_expression(tree: Any, item_value: Callable[[Item, int], float | None]) -> float | None:
    """Evaluate an indicator expression.

    Args:
        tree: A syntax tree from `parse_indicator_expression`.
        item_value: Gives an item's value at a period offset (0 = the cell's period), or
            None when the item has no data.

    Returns:
        The value, or None when all data items are missing or the result is not a number.
    """
    found = [0, 0]  # data items seen, data items with a value

    def value(node: Any, offset: int) -> Any:
        if isinstance(node, NumberLiteral):
            return node.value
        if isinstance(node, Item):
            v = item_value(node, offset)
            if node.kind in _DATA_KINDS:
                found[0] += 1
                if v is not None:
                    found[1] += 1
            return MISSING if v is None else v
        if isinstance(node, BooleanLiteral):
            return node.value
        if isinstance(node, StringLiteral):
            return node.value
        if isinstance(node, NullLiteral):
            return MISSING
        if isinstance(node, UnaryOp):
            operand = value(node.operand, offset)
            if node.op == "!":
                return not _truthy(operand)
            number = _num(operand)
            return -number if node.op == "-" else number
        if isinstance(node, BinaryOp):
            return _binary(node, offset)
        if isinstance(node, FunctionCall):
            return _call(node, offset)
        if isinstance(node, PostfixFunction):
            if node.name == "periodOffset" and isinstance(node.argument, int):
                return value(node.operand, offset + node.argument)
            return value(node.operand, offset)
        raise ValueError(f"Unsupported expression element in indicator: {node!r}")

    def _binary(node: BinaryOp, offset: int) -> Any:
        op = node.op
        if op == "&&":
            return _truthy(value(node.left, offset)) and _truthy(value(node.right, offset))
        if op == "||":
            return _truthy(value(node.left, offset)) or _truthy(value(node.right, offset))
        left, right = value(node.left, offset), value(node.right, offset)
        if op in ("==", "!="):
            equal = _comparable(left) == _comparable(right)
            return equal if op == "==" else not equal
        a, b = _num(left), _num(right)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b != 0 else MISSING
        if op == "%":
            return math.fmod(a, b) if b != 0 else MISSING
        if op == "^":
            return a**b
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        if op == ">=":
            return a >= b
        raise ValueError(f"Unsupported operator {op!r}")

    def _call(node: FunctionCall, offset: int) -> Any:
        name, args = node.name, node.args
        if name == "if":
            condition = value(args[0], offset)
            return value(args[1] if _truthy(condition) else args[2], offset)
        if name == "isNull":
            return value(args[0], offset) is MISSING
        if name == "isNotNull":
            return value(args[0], offset) is not MISSING
        if name == "firstNonNull":
            for arg in args:
                v = value(arg, offset)
                if v is not MISSING:
                    return v
            return MISSING
        values = [value(arg, offset) for arg in args]
        if name == "greatest":
            return max(_num(v) for v in values)
        if name == "least":
            return min(_num(v) for v in values)
        if name == "log":
            x = _num(values[0])
            if x <= 0:
                return MISSING
            return math.log(x) if len(values) == 1 else math.log(x, _num(values[1]))
        if name == "log10":
            x = _num(values[0])
            return math.log10(x) if x > 0 else MISSING
        if name == "removeZeros":
            return MISSING if values[0] is MISSING or _num(values[0]) == 0 else values[0]
        if name == "subExpression":
            return values[0]
        raise ValueError(f"Unsupported function in indicator: {name}")

    result = value(tree, 0)
    if found[0] > 0 and found[1] == 0:
        return None
    if result is MISSING or isinstance(result, str):
        return None
    number = float(result)
    if math.isnan(number) or math.isinf(number):
        return None
    return number


def _num(v: Any) -> float:
    if v is MISSING or v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return 0.0
    return float(v)


def _truthy(v: Any) -> bool:
    if v is MISSING:
        return False
    if isinstance(v, str):
        return v.lower() == "true"
    return bool(v)


def _comparable(v: Any) -> Any:
    if v is MISSING:
        return None
    if isinstance(v, bool | str):
        return v
    return float(v)
