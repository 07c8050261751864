"""Human-readable descriptions: item references replaced by object names.

This mirrors DHIS2's ``/api/expressions/description``: each item in the original
text is replaced by the names of the objects it references, and everything else
(operators, numbers, spacing) is left as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prefect_dhis2.expressions.lexer import tokenize
from prefect_dhis2.expressions.parser import item_from_token, parse_expression
from prefect_dhis2.expressions.render import render_expression
from prefect_dhis2.expressions.syntax import Expression, Item, ItemKind
from prefect_dhis2.uids import is_valid_uid

__all__ = [
    "REPORTING_RATE_CAPTIONS",
    "ExpressionDescription",
    "describe_expression",
    "describe_expression_details",
    "describe_item",
]

#: How DHIS2 names reporting-rate metrics (appended to the data set name).
REPORTING_RATE_CAPTIONS = {
    "REPORTING_RATE": "Reporting rate",
    "REPORTING_RATE_ON_TIME": "Reporting rate on time",
    "ACTUAL_REPORTS": "Actual reports",
    "ACTUAL_REPORTS_ON_TIME": "Actual reports on time",
    "EXPECTED_REPORTS": "Expected reports",
}


@dataclass(frozen=True, slots=True)
class ExpressionDescription:
    """A description and the UIDs that had no name.

    Attributes:
        description: The expression with names in place of item references.
        unknown_uids: UIDs missing from the name mapping, in order of first
            appearance; they are left visible in `description`.
    """

    description: str
    unknown_uids: tuple[str, ...]

    def __str__(self) -> str:
        return self.description


def describe_expression(text_or_tree: str | Expression, names: Mapping[str, str]) -> str:
    """Replace item references with object names, like DHIS2's description endpoint.

    Args:
        text_or_tree: Expression text (its formatting is kept) or a syntax tree
            (described from its canonical rendering).
        names: UID -> display name, for every kind of object (data elements,
            category option combos, constants, indicators, data sets, ...).

    Returns:
        The description. Unknown UIDs stay visible as UIDs; use
        `describe_expression_details` to get the list of them.

    Raises:
        ExpressionSyntaxError: If the text is not a valid expression.

    Examples:
        >>> names = {"fbfJHSPpUQD": "ANC 1st visit", "pq2XI5kz2BY": "Fixed",
        ...          "xxx00000001": "Population"}
        >>> describe_expression("#{fbfJHSPpUQD.pq2XI5kz2BY} / C{xxx00000001}", names)
        'ANC 1st visit Fixed / Population'
    """
    return describe_expression_details(text_or_tree, names).description


def describe_expression_details(
    text_or_tree: str | Expression, names: Mapping[str, str]
) -> ExpressionDescription:
    """Like `describe_expression`, also reporting UIDs that had no name.

    Examples:
        >>> d = describe_expression_details("#{fbfJHSPpUQD}+#{cYeuwXTCPkU}",
        ...                                 {"fbfJHSPpUQD": "ANC 1st visit"})
        >>> d.description, d.unknown_uids
        ('ANC 1st visit+cYeuwXTCPkU', ('cYeuwXTCPkU',))
    """
    if isinstance(text_or_tree, str):
        text = text_or_tree
        parse_expression(text)  # validates; raises ExpressionSyntaxError
    else:
        text = render_expression(text_or_tree)
    unknown: dict[str, None] = {}
    pieces: list[str] = []
    last = 0
    tokens = tokenize(text)
    for index, (kind, value, pos) in enumerate(tokens):
        replacement: str | None = None
        end = pos + len(value)
        if kind == "item":
            replacement = describe_item(item_from_token(value, pos, text), names, unknown)
        elif kind == "ps":
            # `PS_EVENTDATE:` WS* UID: describe the stage UID, keep the tag.
            _, stage, stage_pos = tokens[index + 1]
            replacement = "PS_EVENTDATE:" + _name(stage, names, unknown)
            end = stage_pos + len(stage)
        elif kind == "word" and is_valid_uid(value) and tokens[index - 1][0] != "ps":
            # UID arguments of orgUnit.ancestor/dataSet/group/program(...).
            replacement = _name(value, names, unknown)
        if replacement is not None:
            pieces.append(text[last:pos])
            pieces.append(replacement)
            last = end
    pieces.append(text[last:])
    return ExpressionDescription("".join(pieces), tuple(unknown))


def describe_item(
    item: Item, names: Mapping[str, str], unknown: dict[str, None] | None = None
) -> str:
    """Describe one item: the names of its parts joined by spaces.

    Wildcards are left out (`#{de.*}` reads as the data element), group tags
    list their members' names joined by `` & ``, reporting-rate metrics get
    DHIS2's captions, and `[days]`-style items and `V{...}` stay as written.

    Args:
        item: The item.
        names: UID -> name.
        unknown: If given, UIDs without a name are added to it (as keys).

    Examples:
        >>> describe_item(Item(ItemKind.REPORTING_RATE, ("QX4ZTUbOt3a", "REPORTING_RATE")),
        ...               {"QX4ZTUbOt3a": "Reproductive Health"})
        'Reproductive Health Reporting rate'
    """
    sink: dict[str, None] = {} if unknown is None else unknown
    kind = item.kind
    if kind is ItemKind.REPORTING_RATE:
        return f"{_name(item.parts[0], names, sink)} {REPORTING_RATE_CAPTIONS[item.parts[1]]}"
    if kind is ItemKind.PROGRAM_VARIABLE or not item.parts:
        return item.text
    if kind is ItemKind.PS_EVENTDATE:
        return "PS_EVENTDATE:" + _name(item.parts[0], names, sink)
    words: list[str] = []
    for part in item.parts:
        if part == "*":
            continue
        _, _, value = part.rpartition(":")
        words.append(" & ".join(_name(uid, names, sink) for uid in value.split("&")))
    return " ".join(words)


def _name(uid: str, names: Mapping[str, str], unknown: dict[str, None]) -> str:
    name = names.get(uid)
    if name is None:
        unknown[uid] = None
        return uid
    return name
