"""A hand-written Pratt parser for the DHIS2 expression language.

The grammar is DHIS2's (`Expression.g4` in dhis2/dhis2-antlr-expression-parser).
Operator binding, tightest first:

1. postfix dot functions: `.aggregationType(T)`, `.maxDate(yyyy-M-d)`,
   `.minDate(...)`, `.periodOffset(n)`, `.stageOffset(n)`, `.yearToDate()`
2. `^` (right-associative; binds tighter than unary minus, so `-2^2` is `-(2^2)`)
3. unary `+ - ! not`
4. `* / %`
5. `+ -`
6. `< > <= >=`
7. `== !=`
8. `&& and`
9. `|| or`

All binary operators except `^` are left-associative.
"""

from __future__ import annotations

import datetime as dt
import re

from prefect_dhis2.expressions.errors import ExpressionSyntaxError
from prefect_dhis2.expressions.grammar import (
    AGGREGATION_TYPES,
    BINARY_PRECEDENCE,
    FUNCTION_ARITY,
    ORG_UNIT_FUNCTIONS,
    POSTFIX_FUNCTIONS,
    PROGRAM_VARIABLES,
    REPORTING_RATE_METRICS,
    UNARY_PRECEDENCE,
)
from prefect_dhis2.expressions.lexer import Token, tokenize
from prefect_dhis2.expressions.syntax import BinaryOp as _BinaryOp
from prefect_dhis2.expressions.syntax import (
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

__all__ = ["decode_string", "item_from_token", "parse_expression"]

_UID = r"[A-Za-z][A-Za-z0-9]{10}"
_UID_RE = re.compile(_UID)
_COC_PART = rf"(?:{_UID}|\*|co:{_UID}|coGroup:{_UID}(?:&{_UID})*)"
_ITEM_RULES: dict[str, tuple[ItemKind, re.Pattern[str]]] = {
    "#": (ItemKind.DATA_ELEMENT, re.compile(rf"(?:{_UID}|deGroup:{_UID})(?:\.{_COC_PART}){{0,2}}")),
    "A": (ItemKind.ATTRIBUTE, re.compile(rf"{_UID}(?:\.{_UID})?")),
    "C": (ItemKind.CONSTANT, re.compile(_UID)),
    "D": (ItemKind.PROGRAM_DATA_ELEMENT, re.compile(rf"{_UID}\.{_UID}")),
    "I": (ItemKind.PROGRAM_INDICATOR, re.compile(_UID)),
    "N": (ItemKind.INDICATOR, re.compile(_UID)),
    "OUG": (ItemKind.ORG_UNIT_GROUP, re.compile(_UID)),
    "R": (
        ItemKind.REPORTING_RATE,
        re.compile(
            rf"{_UID}\.(?:{'|'.join(sorted(REPORTING_RATE_METRICS, key=len, reverse=True))})"
        ),
    ),
}
_BRACKET_KINDS = {
    "[days]": ItemKind.DAYS,
    "[periodInYear]": ItemKind.PERIOD_IN_YEAR,
    "[yearlyPeriodCount]": ItemKind.YEARLY_PERIOD_COUNT,
}
_INTEGER_RE = re.compile(r"0|[1-9][0-9]*")
_DATE_ARG_RE = re.compile(r"[ \t\r\n]*([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[ \t\r\n]*\)")
_ESCAPE_RE = re.compile(r"\\(?:([btnfr\"'\\])|([0-3][0-7]{2}|[0-7]{1,2})|u+([0-9a-fA-F]{4}))")
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}

_ITEM_CACHE: dict[str, Item] = {}
_ITEM_CACHE_SIZE = 8192

_TRUE = BooleanLiteral(True)
_FALSE = BooleanLiteral(False)
_NULL = NullLiteral()


def parse_expression(text: str) -> Expression:
    """Parse a DHIS2 expression into its syntax tree.

    Args:
        text: The expression, e.g. an indicator numerator.

    Returns:
        The root node of the tree (see `prefect_dhis2.expressions.syntax`).

    Raises:
        ExpressionSyntaxError: If `text` is not a valid expression; the error
            carries the 0-based `.position` and a plain-language `.reason`.

    Examples:
        >>> parse_expression("-2^2")
        UnaryOp(op='-', operand=BinaryOp(op='^', left=NumberLiteral(value=2.0), \
right=NumberLiteral(value=2.0)))
        >>> parse_expression("if (1, 2, 3)")
        Traceback (most recent call last):
        ...
        prefect_dhis2.expressions.errors.ExpressionSyntaxError: 'if' must be followed \
directly by '(' (DHIS2 function names include the parenthesis: write 'if(') (at position 0)
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, not {type(text).__name__}")
    return _Parser(text).parse()


def decode_string(token: str) -> str:
    """Decode a quoted string token (Java escapes) into its value.

    Examples:
        >>> decode_string(r"'it\\'s'")
        "it's"
    """
    body = token[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(_decode_escape, body)


def _decode_escape(match: re.Match[str]) -> str:
    simple, octal, hexa = match.groups()
    if simple is not None:
        return _SIMPLE_ESCAPES.get(simple, simple)
    if octal is not None:
        return chr(int(octal, 8))
    return chr(int(hexa, 16))


def item_from_token(value: str, pos: int, text: str) -> Item:
    """Build an `Item` from an ``item`` token, validating its parts.

    Args:
        value: The token text, e.g. ``#{fbfJHSPpUQD.pq2XI5kz2BY}``.
        pos: The token's offset in `text` (for error positions).
        text: The whole expression (for errors).

    Raises:
        ExpressionSyntaxError: If a part is not valid for the item kind.
    """
    cached = _ITEM_CACHE.get(value)
    if cached is not None:
        return cached
    if value[0] == "O":
        symbol, content = "OUG", value[4:-1]
    else:
        symbol, content = value[0], value[2:-1]
    if symbol == "V":
        if content in PROGRAM_VARIABLES:
            return _remember(value, Item(ItemKind.PROGRAM_VARIABLE, (content,)))
        raise ExpressionSyntaxError(
            f"unknown program variable {content!r} in {value!r}", pos + 2, text
        )
    kind, rule = _ITEM_RULES[symbol]
    if rule.fullmatch(content) is not None:
        parts = tuple(content.split("."))
        if len(parts) == 3 and parts[1] == "*" and parts[2] == "*":
            raise ExpressionSyntaxError(
                f"{value!r}: a data element item may have only one '*' wildcard",
                pos + len(symbol) + 2 + len(parts[0]) + 2,
                text,
            )
        return _remember(value, Item(kind, parts))
    raise _item_error(symbol, content, value, pos, text)


def _remember(value: str, item: Item) -> Item:
    """Cache a validated item: catalogues repeat the same items many times."""
    if len(_ITEM_CACHE) >= _ITEM_CACHE_SIZE:
        _ITEM_CACHE.clear()
    _ITEM_CACHE[value] = item
    return item


def _item_error(
    symbol: str, content: str, value: str, pos: int, text: str
) -> ExpressionSyntaxError:
    """Explain which part of an item is wrong."""
    start = pos + len(symbol) + 1
    if not content:
        return ExpressionSyntaxError(f"empty item {value!r}", pos, text)
    parts = content.split(".")
    roles: list[tuple[str, re.Pattern[str]]]
    uid_role = ("UID", re.compile(_UID))
    if symbol == "#":
        coc = (
            "category option combo (UID, *, co:UID or coGroup:UID&UID...)",
            re.compile(_COC_PART),
        )
        roles = [
            ("data element (UID or deGroup:UID)", re.compile(rf"{_UID}|deGroup:{_UID}")),
            coc,
            (coc[0].replace("category option combo", "attribute option combo"), coc[1]),
        ]
    elif symbol == "A":
        roles = [uid_role, uid_role]
    elif symbol == "D":
        roles = [("program UID", _UID_RE), ("data element UID", _UID_RE)]
    elif symbol == "R":
        metrics = "|".join(sorted(REPORTING_RATE_METRICS))
        roles = [("data set UID", _UID_RE), (f"metric ({metrics})", re.compile(metrics))]
    else:
        roles = [uid_role]
    offset = start
    for index, part in enumerate(parts):
        if index >= len(roles):
            return ExpressionSyntaxError(
                f"too many parts in {value!r} (at most {len(roles)})", offset, text
            )
        role, pattern = roles[index]
        if pattern.fullmatch(part) is None:
            return ExpressionSyntaxError(
                f"{part!r} is not a valid {role} in {value!r}", offset, text
            )
        offset += len(part) + 1
    return ExpressionSyntaxError(
        f"{value!r} needs {len(roles)} dot-separated parts", pos + len(value) - 1, text
    )


def _describe(token: Token) -> str:
    kind, value, _ = token
    if kind == "end":
        return "the end of the expression"
    return repr(value)


class _Parser:
    """Recursive-descent/Pratt parser over the token list."""

    __slots__ = ("i", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def error(self, reason: str, position: int) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(reason, position, self.text)

    def parse(self) -> Expression:
        if self.tokens[0][0] == "end":
            raise self.error("empty expression", 0)
        node = self.expr(0)
        token = self.tokens[self.i]
        if token[0] != "end":
            if token[1] == ")":
                raise self.error("unmatched ')'", token[2])
            if token[1] == ",":
                raise self.error("unexpected ',' outside a function call", token[2])
            raise self.error(
                f"unexpected {_describe(token)}: expected an operator or the end of the expression",
                token[2],
            )
        return node

    def expr(self, rbp: int) -> Expression:
        """Parse an expression whose operators bind tighter than `rbp`."""
        left = self.nud()
        tokens = self.tokens
        while True:
            kind, value, _ = tokens[self.i]
            if kind == "op":
                lbp = BINARY_PRECEDENCE.get(value)
                if lbp is None or lbp <= rbp:
                    return left
                self.i += 1
                # `^` is right-associative: its right side may hold another `^`.
                right = self.expr(UNARY_PRECEDENCE if value == "^" else lbp)
                left = _BinaryOp(value, left, right)
            elif kind == "word" and (value == "and" or value == "or"):
                op, lbp = ("&&", 2) if value == "and" else ("||", 1)
                if lbp <= rbp:
                    return left
                self.i += 1
                left = _BinaryOp(op, left, self.expr(lbp))
            elif kind == "postfix":
                left = self.postfix(left)
            else:
                return left

    def nud(self) -> Expression:
        """Parse an operand: an atom, a prefix operator or a parenthesised group."""
        token = self.tokens[self.i]
        kind, value, pos = token
        self.i += 1
        if kind == "item":
            return item_from_token(value, pos, self.text)
        if kind == "num":
            return NumberLiteral(float(value))
        if kind == "op":
            if value == "(":
                node = self.expr(0)
                close = self.tokens[self.i]
                if close[1] != ")" or close[0] != "op":
                    raise self.error(
                        f"expected ')' to close '(' opened at position {pos}, "
                        f"found {_describe(close)}",
                        close[2],
                    )
                self.i += 1
                return node
            if value == "-" or value == "+" or value == "!":
                return UnaryOp(value, self.expr(UNARY_PRECEDENCE))
            raise self.error(self.unexpected_operand(token), pos)
        if kind == "func":
            return self.call(value, pos)
        if kind == "word":
            if value == "not":
                return UnaryOp("!", self.expr(UNARY_PRECEDENCE))
            if value == "true":
                return _TRUE
            if value == "false":
                return _FALSE
            if value == "null":
                return _NULL
            if value in FUNCTION_ARITY or value in ORG_UNIT_FUNCTIONS:
                raise self.error(
                    f"{value!r} must be followed directly by '(' (DHIS2 function names "
                    f"include the parenthesis: write '{value}(')",
                    pos,
                )
            raise self.error(f"unexpected name {value!r}", pos)
        if kind == "str":
            return StringLiteral(decode_string(value))
        if kind == "bracket":
            return Item(_BRACKET_KINDS[value])
        if kind == "ps":
            uid_token = self.tokens[self.i]
            if uid_token[0] != "word" or _UID_RE.fullmatch(uid_token[1]) is None:
                raise self.error(
                    f"expected a program stage UID after 'PS_EVENTDATE:', found "
                    f"{_describe(uid_token)}",
                    uid_token[2],
                )
            self.i += 1
            return Item(ItemKind.PS_EVENTDATE, (uid_token[1],))
        if kind == "postfix":
            raise self.error(f"{value!r} must follow an expression", pos)
        # kind == "end"
        reason = self.unexpected_operand(token)
        self.i -= 1
        raise self.error(reason, pos)

    def unexpected_operand(self, token: Token) -> str:
        """The reason for finding `token` where an operand was expected."""
        previous = self.tokens[self.i - 2] if self.i >= 2 else None
        if token[0] == "end":
            if previous is None:
                return "empty expression"
            return f"expected an operand after {previous[1]!r} but the expression ended"
        if previous is not None:
            return f"expected an operand after {previous[1]!r}, found {token[1]!r}"
        return f"expected an operand, found {token[1]!r}"

    def call(self, value: str, pos: int) -> Expression:
        """Parse a function call; `value` is the function token (with its `(`)."""
        name = value[:-1]
        if name.startswith("orgUnit."):
            return self.org_unit_call(name, value, pos)
        arity = FUNCTION_ARITY.get(name)
        if arity is None:
            if name.startswith("d2:"):
                raise self.error(f"unknown d2 function {value!r}", pos)
            raise self.error(f"unknown function {value!r}", pos)
        minimum, maximum = arity
        tokens = self.tokens
        args: list[Expression] = []
        distinct = False
        if name == "count" and tokens[self.i][:2] == ("word", "distinct"):
            self.i += 1
            distinct = True
        elif name == "is":
            args.append(self.expr(0))
            token = tokens[self.i]
            if token[:2] != ("word", "in"):
                raise self.error(
                    f"expected 'in' after the first argument of 'is(', found {_describe(token)}",
                    token[2],
                )
            self.i += 1
        if minimum == 0 and tokens[self.i][:2] == ("op", ")"):
            self.i += 1
            return FunctionCall(name, ())
        while True:
            args.append(self.expr(0))
            token = tokens[self.i]
            self.i += 1
            separator = token[1] if token[0] == "op" else ""
            if separator == ",":
                if maximum is not None and len(args) >= maximum:
                    raise self.error(
                        f"too many arguments for {value!r} (takes at most {maximum})", token[2]
                    )
                continue
            if separator == ")":
                if len(args) < minimum:
                    raise self.error(
                        f"{value!r} needs at least {minimum} arguments, got {len(args)}",
                        token[2],
                    )
                return FunctionCall(name, tuple(args), distinct)
            self.i -= 1
            if token[0] == "end":
                raise self.error(
                    f"expected ')' to close {value!r} opened at position {pos}", token[2]
                )
            raise self.error(
                f"expected ',' or ')' in {value!r} (opened at position {pos}), "
                f"found {_describe(token)}",
                token[2],
            )

    def org_unit_call(self, name: str, value: str, pos: int) -> Expression:
        """Parse `orgUnit.xxx(UID, ...)`."""
        short = name[8:]
        if short not in ORG_UNIT_FUNCTIONS:
            raise self.error(f"unknown function {value!r}", pos)
        uids: list[str] = []
        tokens = self.tokens
        while True:
            token = tokens[self.i]
            if token[0] != "word" or _UID_RE.fullmatch(token[1]) is None:
                raise self.error(
                    f"expected a UID argument in {value!r}, found {_describe(token)}", token[2]
                )
            uids.append(token[1])
            token = tokens[self.i + 1]
            self.i += 2
            if token[:2] == ("op", ","):
                continue
            if token[:2] == ("op", ")"):
                return OrgUnitFunction(short, tuple(uids))
            self.i -= 1
            if token[0] == "end":
                raise self.error(
                    f"expected ')' to close {value!r} opened at position {pos}", token[2]
                )
            raise self.error(
                f"expected ',' or ')' in {value!r}, found {_describe(token)}", token[2]
            )

    def postfix(self, operand: Expression) -> Expression:
        """Parse a dot function applied to `operand`."""
        _, value, pos = self.tokens[self.i]
        self.i += 1
        name = value[1:-1]
        if name not in POSTFIX_FUNCTIONS:
            raise self.error(f"unknown dot function {value!r}", pos)
        argument: int | str | dt.date | None = None
        tokens = self.tokens
        if name == "periodOffset" or name == "stageOffset":
            token = tokens[self.i]
            sign = 1
            if token[0] == "op" and token[1] in "+-":
                sign = -1 if token[1] == "-" else 1
                self.i += 1
                token = tokens[self.i]
            if token[0] != "num" or _INTEGER_RE.fullmatch(token[1]) is None:
                raise self.error(
                    f"{value!r} needs an integer argument, found {_describe(token)}", token[2]
                )
            self.i += 1
            argument = sign * int(token[1])
        elif name == "aggregationType":
            token = tokens[self.i]
            if token[0] != "word" or token[1] not in AGGREGATION_TYPES:
                raise self.error(
                    f"{value!r} needs an aggregation type such as SUM or AVERAGE, found "
                    f"{_describe(token)}",
                    token[2],
                )
            self.i += 1
            argument = token[1]
        elif name == "maxDate" or name == "minDate":
            start = pos + len(value)
            match = _DATE_ARG_RE.match(self.text, start)
            if match is None:
                raise self.error(f"{value!r} needs a date argument written yyyy-M-d", start)
            year, month, day = (int(g) for g in match.groups())
            try:
                argument = dt.date(year, month, day)
            except ValueError:
                raise self.error(
                    f"invalid date {match.group(1)}-{match.group(2)}-{match.group(3)} in {value!r}",
                    match.start(1),
                ) from None
            end = match.end()
            while tokens[self.i][2] < end:
                self.i += 1
            return PostfixFunction(operand, name, argument)
        token = tokens[self.i]
        if token[:2] != ("op", ")"):
            raise self.error(
                f"expected ')' to close {value!r} opened at position {pos}, found "
                f"{_describe(token)}",
                token[2],
            )
        self.i += 1
        return PostfixFunction(operand, name, argument)
