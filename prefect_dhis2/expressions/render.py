"""Render a syntax tree back to canonical expression text.

The canonical form has no whitespace (except around `in` and after `distinct`),
writes `&&`, `||` and `!` for the word operators, and adds only the parentheses
that DHIS2's precedence rules require. For every tree `t` produced by
`parse_expression`, ``parse_expression(render_expression(t)) == t``.
"""

from __future__ import annotations

import datetime as dt
import math

from prefect_dhis2.expressions.grammar import (
    ATOM_PRECEDENCE,
    BINARY_PRECEDENCE,
    POSTFIX_PRECEDENCE,
    UNARY_PRECEDENCE,
)
from prefect_dhis2.expressions.syntax import (
    BinaryOp,
    BooleanLiteral,
    Expression,
    FunctionCall,
    Item,
    NullLiteral,
    NumberLiteral,
    OrgUnitFunction,
    PostfixFunction,
    StringLiteral,
    UnaryOp,
)

__all__ = ["format_number", "format_string", "precedence", "render_expression"]

_STRING_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r"})


def render_expression(tree: Expression) -> str:
    """Render `tree` as canonical DHIS2 expression text.

    Args:
        tree: A syntax tree, as returned by `parse_expression`.

    Returns:
        Text that parses back to an equal tree.

    Raises:
        ValueError: For trees the language cannot express (a negative or NaN
            number literal: write negation as ``UnaryOp("-", ...)``).

    Examples:
        >>> from prefect_dhis2.expressions import parse_expression
        >>> render_expression(parse_expression("( #{fbfJHSPpUQD} + 1 ) * 2 and not true"))
        '(#{fbfJHSPpUQD}+1)*2&&!true'
    """
    return _render(tree)


def precedence(node: Expression) -> int:
    """The binding power of `node`'s outermost construct (higher binds tighter)."""
    if isinstance(node, BinaryOp):
        return BINARY_PRECEDENCE[node.op]
    if isinstance(node, UnaryOp):
        return UNARY_PRECEDENCE
    if isinstance(node, PostfixFunction):
        return POSTFIX_PRECEDENCE
    return ATOM_PRECEDENCE


def format_number(value: float) -> str:
    """Write a non-negative number as a DHIS2 numeric literal.

    Examples:
        >>> format_number(3.0), format_number(0.25), format_number(1e-7)
        ('3', '0.25', '1e-07')
    """
    if math.isnan(value) or value < 0:
        raise ValueError(f"a number literal must be finite and non-negative, not {value!r}")
    if math.isinf(value):
        return "1e999"  # overflows to infinity when parsed, as it did when it was read
    if value.is_integer() and value < 1e16:
        return str(int(value))
    return repr(float(value))


def format_string(value: str) -> str:
    """Quote `value` as a single-quoted DHIS2 string literal.

    Examples:
        >>> format_string("it's")
        "'it\\\\'s'"
    """
    return "'" + value.translate(_STRING_ESCAPES) + "'"


def _wrap(node: Expression, needs_parentheses: bool) -> str:
    text = _render(node)
    return f"({text})" if needs_parentheses else text


def _render(node: Expression) -> str:
    if isinstance(node, Item):
        return node.text
    if isinstance(node, BinaryOp):
        level = BINARY_PRECEDENCE[node.op]
        left_level = precedence(node.left)
        right_level = precedence(node.right)
        if node.op == "^":  # right-associative
            left = _wrap(node.left, left_level <= level)
            right = _wrap(node.right, right_level < level)
        else:
            left = _wrap(node.left, left_level < level)
            right = _wrap(node.right, right_level <= level)
        return f"{left}{node.op}{right}"
    if isinstance(node, NumberLiteral):
        return format_number(node.value)
    if isinstance(node, UnaryOp):
        return node.op + _wrap(node.operand, precedence(node.operand) < UNARY_PRECEDENCE)
    if isinstance(node, FunctionCall):
        args = [_render(arg) for arg in node.args]
        if node.name == "is" and args:
            return f"is({args[0]} in {','.join(args[1:])})"
        prefix = "distinct " if node.distinct else ""
        return f"{node.name}({prefix}{','.join(args)})"
    if isinstance(node, StringLiteral):
        return format_string(node.value)
    if isinstance(node, BooleanLiteral):
        return "true" if node.value else "false"
    if isinstance(node, NullLiteral):
        return "null"
    if isinstance(node, PostfixFunction):
        operand = node.operand
        # `1.periodOffset(` would lex as the number `1.`: numbers need parentheses.
        wrap = precedence(operand) < POSTFIX_PRECEDENCE or isinstance(operand, NumberLiteral)
        return f"{_wrap(operand, wrap)}.{node.name}({_format_argument(node.argument)})"
    if isinstance(node, OrgUnitFunction):
        return f"orgUnit.{node.name}({','.join(node.uids)})"
    raise TypeError(f"not an expression node: {node!r}")


def _format_argument(argument: int | str | dt.date | None) -> str:
    if argument is None:
        return ""
    if isinstance(argument, dt.date):
        return f"{argument.year:04d}-{argument.month}-{argument.day}"
    return str(argument)
