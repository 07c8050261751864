"""The typed syntax tree of a DHIS2 expression.

Every node is a frozen, slotted dataclass, so trees compare by value and can be
used as dictionary keys. The tree is *abstract*: grouping parentheses, whitespace
and comments are not kept, and operator spellings are normalised (`and` becomes
`&&`, `or` becomes `||`, `not` becomes `!`). `render_expression` turns a tree back
into canonical text that parses to the same tree.

Examples:
    >>> from prefect_dhis2.expressions import parse_expression
    >>> parse_expression("#{fbfJHSPpUQD} * 2")
    BinaryOp(op='*', left=Item(kind=<ItemKind.DATA_ELEMENT: '#'>, parts=('fbfJHSPpUQD',)), \
right=NumberLiteral(value=2.0))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

__all__ = [
    "BinaryOp",
    "BooleanLiteral",
    "Expression",
    "FunctionCall",
    "Item",
    "ItemKind",
    "NullLiteral",
    "NumberLiteral",
    "OrgUnitFunction",
    "PostfixFunction",
    "StringLiteral",
    "UnaryOp",
]


class ItemKind(StrEnum):
    """The kinds of item reference, valued by the symbol that introduces them."""

    DATA_ELEMENT = "#"
    """`#{de}`, `#{de.coc}`, `#{de.coc.aoc}` and their wildcard/group forms."""
    ATTRIBUTE = "A"
    """`A{program.attribute}` (or `A{attribute}` in program indicators)."""
    CONSTANT = "C"
    """`C{constant}`."""
    PROGRAM_DATA_ELEMENT = "D"
    """`D{program.dataElement}`."""
    PROGRAM_INDICATOR = "I"
    """`I{programIndicator}`."""
    INDICATOR = "N"
    """`N{indicator}`."""
    ORG_UNIT_GROUP = "OUG"
    """`OUG{orgUnitGroup}`: the number of org units in the group."""
    REPORTING_RATE = "R"
    """`R{dataSet.METRIC}`."""
    PROGRAM_VARIABLE = "V"
    """`V{event_date}` and the other program variables."""
    PS_EVENTDATE = "PS_EVENTDATE"
    """`PS_EVENTDATE:programStage`."""
    DAYS = "[days]"
    """`[days]`: the number of days in the period."""
    PERIOD_IN_YEAR = "[periodInYear]"
    """`[periodInYear]`: the period's position within its year (1-based)."""
    YEARLY_PERIOD_COUNT = "[yearlyPeriodCount]"
    """`[yearlyPeriodCount]`: how many periods of this type make a year."""


#: Kinds written as `SYMBOL{...}`.
BRACE_KINDS = frozenset(
    {
        ItemKind.DATA_ELEMENT,
        ItemKind.ATTRIBUTE,
        ItemKind.CONSTANT,
        ItemKind.PROGRAM_DATA_ELEMENT,
        ItemKind.PROGRAM_INDICATOR,
        ItemKind.INDICATOR,
        ItemKind.ORG_UNIT_GROUP,
        ItemKind.REPORTING_RATE,
        ItemKind.PROGRAM_VARIABLE,
    }
)


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    """A numeric literal such as `2`, `.5` or `1e3` (always non-negative)."""

    value: float


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """A quoted string; `value` holds the decoded text (escapes resolved)."""

    value: str


@dataclass(frozen=True, slots=True)
class BooleanLiteral:
    """`true` or `false`."""

    value: bool


@dataclass(frozen=True, slots=True)
class NullLiteral:
    """`null`."""


@dataclass(frozen=True, slots=True)
class Item:
    """A reference to a DHIS2 object or a built-in period variable.

    Attributes:
        kind: Which kind of item this is.
        parts: The dot-separated parts between the braces, exactly as written:
            UIDs, `*` wildcards, tagged parts such as `deGroup:UID`, `co:UID`
            or `coGroup:UID&UID`, a reporting-rate metric or a program variable
            name. `PS_EVENTDATE:UID` has the stage UID as its only part; the
            bracket items (`[days]` ...) have no parts.

    Examples:
        >>> Item(ItemKind.DATA_ELEMENT, ("fbfJHSPpUQD", "pq2XI5kz2BY")).text
        '#{fbfJHSPpUQD.pq2XI5kz2BY}'
    """

    kind: ItemKind
    parts: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The canonical source text of the item (usable as a lookup key)."""
        kind = self.kind
        if kind in BRACE_KINDS:
            return f"{kind.value}{{{'.'.join(self.parts)}}}"
        if kind is ItemKind.PS_EVENTDATE:
            return f"PS_EVENTDATE:{self.parts[0]}"
        return kind.value

    @property
    def uid(self) -> str | None:
        """The first part when it is a plain UID (no tag, no wildcard), else None."""
        if not self.parts:
            return None
        first = self.parts[0]
        if ":" in first or first == "*" or self.kind is ItemKind.PROGRAM_VARIABLE:
            return None
        return first


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """A prefix operator: `-`, `+` or `!` (`not` is normalised to `!`)."""

    op: str
    operand: Expression


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """A binary operator.

    `op` is one of `^ * / % + - < > <= >= == != && ||` (`and`/`or` are
    normalised to `&&`/`||`).
    """

    op: str
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function call such as `if(c,a,b)`, `sum(x)` or `d2:hasValue(x)`.

    Attributes:
        name: The function name without its parenthesis (`if`, `isNull`,
            `d2:daysBetween`, ...). For `is(x in a, b)` the name is `is` and
            `args` is `(x, a, b)`.
        args: The argument expressions.
        distinct: True for `count(distinct x)`.
    """

    name: str
    args: tuple[Expression, ...]
    distinct: bool = False


@dataclass(frozen=True, slots=True)
class OrgUnitFunction:
    """`orgUnit.ancestor(...)`, `orgUnit.dataSet(...)`, `orgUnit.group(...)` or
    `orgUnit.program(...)`: a boolean test of the current org unit.

    Attributes:
        name: `ancestor`, `dataSet`, `group` or `program`.
        uids: The UID arguments.
    """

    name: str
    uids: tuple[str, ...]


PostfixArgument: TypeAlias = int | str | dt.date | None


@dataclass(frozen=True, slots=True)
class PostfixFunction:
    """A "dot" function applied to an expression, such as `#{de}.periodOffset(-1)`.

    Attributes:
        operand: The expression the function applies to.
        name: `aggregationType`, `maxDate`, `minDate`, `periodOffset`,
            `stageOffset` or `yearToDate`.
        argument: An `int` for the offsets, the aggregation type name for
            `aggregationType`, a `datetime.date` for `maxDate`/`minDate`, and
            None for `yearToDate`.
    """

    operand: Expression
    name: str
    argument: PostfixArgument = None


Expression: TypeAlias = (
    NumberLiteral
    | StringLiteral
    | BooleanLiteral
    | NullLiteral
    | Item
    | UnaryOp
    | BinaryOp
    | FunctionCall
    | OrgUnitFunction
    | PostfixFunction
)
"""Any node of the syntax tree."""
