"""Evaluate indicator numerators and denominators for the emulator's analytics.

Expressions are parsed by `prefect_dhis2.expressions` into a syntax tree; this module walks
the tree with a callback that supplies item values (`#{de}`, `#{de.coc}`, `C{...}`, `[days]`,
...). Missing item values follow DHIS2's `SKIP_IF_ALL_VALUES_MISSING`: when every data item
of an expression is missing the expression has no value; otherwise missing items count as 0
(while `isNull`, `isNotNull` and `firstNonNull` still see them as missing).

Example:
    >>> tree = parse_indicator_expression("#{fbfJHSPpUQD} + 2")
    >>> evaluate_expression(tree, lambda item, offset: 40.0)
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

    The tree is compiled once into nested closures (cached per tree), so evaluating
    the same expression for thousands of cells does not walk the tree each time.

    Args:
        tree: A syntax tree from `parse_indicator_expression`.
        item_value: Gives an item's value at a period offset (0 = the cell's period), or
            None when the item has no data.

    Returns:
        The value, or None when all data items are missing or the result is not a number.
    """
    found = [0, 0]  # data items seen, data items with a value
    result = _compiled(tree)(item_value, found, 0)
    if found[0] > 0 and found[1] == 0:
        return None
    if result is MISSING or isinstance(result, str):
        return None
    number = float(result)
    if math.isnan(number) or math.isinf(number):
        return None
    return number


Compiled = Callable[[ItemValue, list[int], int], Any]
"""A compiled node: (item values, found counters, period offset) -> value."""

_COMPILED: dict[int, tuple[Any, Compiled]] = {}


def _compiled(tree: Any) -> Compiled:
    cached = _COMPILED.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    function = _compile(tree)
    if len(_COMPILED) > 8192:
        _COMPILED.clear()
    _COMPILED[id(tree)] = (tree, function)  # keeps the tree alive, so its id stays unique
    return function


def _constant(value: Any) -> Compiled:
    return lambda item_value, found, offset: value


def _compile(node: Any) -> Compiled:
    if isinstance(node, NumberLiteral | BooleanLiteral | StringLiteral):
        return _constant(node.value)
    if isinstance(node, NullLiteral):
        return _constant(MISSING)
    if isinstance(node, Item):
        item, is_data = node, node.kind in _DATA_KINDS

        def item_node(item_value: ItemValue, found: list[int], offset: int) -> Any:
            v = item_value(item, offset)
            if is_data:
                found[0] += 1
                if v is not None:
                    found[1] += 1
            return MISSING if v is None else v

        return item_node
    if isinstance(node, UnaryOp):
        operand = _compile(node.operand)
        if node.op == "!":
            return lambda iv, found, offset: not _truthy(operand(iv, found, offset))
        if node.op == "-":
            return lambda iv, found, offset: -_num(operand(iv, found, offset))
        return lambda iv, found, offset: _num(operand(iv, found, offset))
    if isinstance(node, BinaryOp):
        return _compile_binary(node)
    if isinstance(node, FunctionCall):
        return _compile_call(node)
    if isinstance(node, PostfixFunction):
        operand = _compile(node.operand)
        if node.name == "periodOffset" and isinstance(node.argument, int):
            shift = node.argument
            return lambda iv, found, offset: operand(iv, found, offset + shift)
        return operand
    return _unsupported(f"Unsupported expression element in indicator: {node!r}")


def _unsupported(message: str) -> Compiled:
    # Raised only if evaluation reaches the node (an untaken `if` branch never does).
    def fail(item_value: ItemValue, found: list[int], offset: int) -> Any:
        raise ValueError(message)

    return fail


_ARITHMETIC: dict[str, Callable[[float, float], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b != 0 else MISSING,
    "%": lambda a, b: math.fmod(a, b) if b != 0 else MISSING,
    "^": lambda a, b: a**b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _compile_binary(node: BinaryOp) -> Compiled:
    op = node.op
    left, right = _compile(node.left), _compile(node.right)
    if op == "&&":
        return lambda iv, f, o: _truthy(left(iv, f, o)) and _truthy(right(iv, f, o))
    if op == "||":
        return lambda iv, f, o: _truthy(left(iv, f, o)) or _truthy(right(iv, f, o))
    if op in ("==", "!="):
        want = op == "=="

        def compare(iv: ItemValue, f: list[int], o: int) -> Any:
            a, b = left(iv, f, o), right(iv, f, o)
            return (_comparable(a) == _comparable(b)) == want

        return compare
    apply = _ARITHMETIC.get(op)
    if apply is None:
        return _unsupported(f"Unsupported operator {op!r}")
    return lambda iv, f, o: apply(_num(left(iv, f, o)), _num(right(iv, f, o)))


def _compile_call(node: FunctionCall) -> Compiled:
    name = node.name
    args = [_compile(arg) for arg in node.args]
    if name == "if":
        condition, then, otherwise = args
        return lambda iv, f, o: (then if _truthy(condition(iv, f, o)) else otherwise)(iv, f, o)
    if name == "isNull":
        return lambda iv, f, o: args[0](iv, f, o) is MISSING
    if name == "isNotNull":
        return lambda iv, f, o: args[0](iv, f, o) is not MISSING
    if name == "firstNonNull":

        def first_non_null(iv: ItemValue, f: list[int], o: int) -> Any:
            for arg in args:
                v = arg(iv, f, o)
                if v is not MISSING:
                    return v
            return MISSING

        return first_non_null

    def values(iv: ItemValue, f: list[int], o: int) -> list[Any]:
        return [arg(iv, f, o) for arg in args]

    if name == "greatest":
        return lambda iv, f, o: max(_num(v) for v in values(iv, f, o))
    if name == "least":
        return lambda iv, f, o: min(_num(v) for v in values(iv, f, o))
    if name == "log":

        def log(iv: ItemValue, f: list[int], o: int) -> Any:
            vs = values(iv, f, o)
            x = _num(vs[0])
            if x <= 0:
                return MISSING
            return math.log(x) if len(vs) == 1 else math.log(x, _num(vs[1]))

        return log
    if name == "log10":

        def log10(iv: ItemValue, f: list[int], o: int) -> Any:
            x = _num(values(iv, f, o)[0])
            return math.log10(x) if x > 0 else MISSING

        return log10
    if name == "removeZeros":

        def remove_zeros(iv: ItemValue, f: list[int], o: int) -> Any:
            v = values(iv, f, o)[0]
            return MISSING if v is MISSING or _num(v) == 0 else v

        return remove_zeros
    if name == "subExpression":
        return lambda iv, f, o: values(iv, f, o)[0]
    return _unsupported(f"Unsupported function in indicator: {name}")


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
