"""Static analysis of expressions: items, UIDs, operators, depth, complexity.

`analyze_expression` never raises on bad input: an expression that does not parse
gives an analysis with ``valid=False`` and the error, so a catalogue report can list
every broken expression next to the good ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from prefect_dhis2.expressions.errors import ExpressionSyntaxError
from prefect_dhis2.expressions.grammar import (
    AGGREGATE_FUNCTIONS,
    FUNCTION_ARITY,
    POSTFIX_PRECEDENCE,
    UNARY_PRECEDENCE,
)
from prefect_dhis2.expressions.parser import parse_expression
from prefect_dhis2.expressions.render import precedence
from prefect_dhis2.expressions.syntax import (
    BinaryOp,
    Expression,
    FunctionCall,
    Item,
    ItemKind,
    NumberLiteral,
    OrgUnitFunction,
    PostfixFunction,
    UnaryOp,
)

__all__ = [
    "ComplexityBins",
    "ComplexityLevel",
    "ExpressionAnalysis",
    "ExpressionContext",
    "ExpressionError",
    "ReferencedUids",
    "analyze_expression",
    "analyze_tree",
    "nesting_depth",
]

ExpressionContext = Literal["indicator", "validation_rule", "predictor", "program_indicator"]
ComplexityLevel = Literal["trivial", "simple", "moderate", "complex"]

ARITHMETIC_OPERATORS = frozenset({"+", "-", "*", "/", "%", "^"})

# --- What each context allows (DefaultExpressionService in dhis2-core; the
# program indicator set follows the expression-parser library's modes). -------
_COMMON_FUNCTIONS = frozenset(
    {
        "contains",
        "containsItems",
        "firstNonNull",
        "greatest",
        "if",
        "is",
        "isNotNull",
        "isNull",
        "least",
        "log",
        "log10",
        "removeZeros",
    }
)
_BASE_ITEMS = frozenset({"#{}", "A{p.a}", "C{}", "D{}", "I{}", "OUG{}", "R{}", "[days]"})
_D2_FUNCTIONS = frozenset(name for name in FUNCTION_ARITY if name.startswith("d2:"))


@dataclass(frozen=True)
class _Allowed:
    functions: frozenset[str]
    items: frozenset[str]
    postfix: frozenset[str]
    org_unit: bool


_ALLOWED: dict[str, _Allowed] = {
    "indicator": _Allowed(
        functions=_COMMON_FUNCTIONS | {"subExpression"},
        items=_BASE_ITEMS | {"N{}", "[periodInYear]", "[yearlyPeriodCount]"},
        postfix=frozenset({"aggregationType", "maxDate", "minDate", "periodOffset", "yearToDate"}),
        org_unit=False,
    ),
    "validation_rule": _Allowed(
        functions=_COMMON_FUNCTIONS, items=_BASE_ITEMS, postfix=frozenset(), org_unit=True
    ),
    "predictor": _Allowed(
        functions=_COMMON_FUNCTIONS | AGGREGATE_FUNCTIONS | {"normDistCum", "normDistDen"},
        items=_BASE_ITEMS,
        postfix=frozenset({"maxDate", "minDate"}),
        org_unit=True,
    ),
    "program_indicator": _Allowed(
        functions=_COMMON_FUNCTIONS
        | _D2_FUNCTIONS
        | {"normDistCum", "normDistDen", "avg", "count", "max", "min", "stddev", "sum"},
        items=frozenset({"#{}", "A{p.a}", "A{a}", "C{}", "V{}", "PS_EVENTDATE:"}),
        postfix=frozenset({"stageOffset"}),
        org_unit=False,
    ),
}


@dataclass(frozen=True, slots=True)
class ComplexityBins:
    """Upper bounds (inclusive) of the complexity levels for `complexity_score`.

    A score ``<= trivial_max`` is "trivial", ``<= simple_max`` "simple",
    ``<= moderate_max`` "moderate", anything above "complex".

    Examples:
        >>> bins = ComplexityBins()
        >>> bins.classify(1), bins.classify(5), bins.classify(12), bins.classify(40)
        ('trivial', 'simple', 'moderate', 'complex')
    """

    trivial_max: int = 1
    simple_max: int = 8
    moderate_max: int = 20

    def __post_init__(self) -> None:
        if not self.trivial_max < self.simple_max < self.moderate_max:
            raise ValueError("bins must satisfy trivial_max < simple_max < moderate_max")

    def classify(self, score: int) -> ComplexityLevel:
        """Return the level of `score`."""
        if score <= self.trivial_max:
            return "trivial"
        if score <= self.simple_max:
            return "simple"
        if score <= self.moderate_max:
            return "moderate"
        return "complex"


class ExpressionError(BaseModel):
    """Why an expression is invalid."""

    model_config = ConfigDict(frozen=True)

    reason: str
    position: int


class ReferencedUids(BaseModel):
    """Distinct UIDs referenced by an expression, by the kind of object (sorted)."""

    model_config = ConfigDict(frozen=True)

    data_elements: list[str] = Field(default_factory=list)
    data_element_groups: list[str] = Field(default_factory=list)
    category_option_combos: list[str] = Field(default_factory=list)
    category_options: list[str] = Field(default_factory=list)
    category_option_groups: list[str] = Field(default_factory=list)
    attribute_option_combos: list[str] = Field(default_factory=list)
    indicators: list[str] = Field(default_factory=list)
    program_indicators: list[str] = Field(default_factory=list)
    programs: list[str] = Field(default_factory=list)
    program_stages: list[str] = Field(default_factory=list)
    tracked_entity_attributes: list[str] = Field(default_factory=list)
    constants: list[str] = Field(default_factory=list)
    org_unit_groups: list[str] = Field(default_factory=list)
    org_units: list[str] = Field(default_factory=list)
    data_sets: list[str] = Field(default_factory=list)

    def all(self) -> set[str]:
        """Every referenced UID, whatever its kind."""
        out: set[str] = set()
        for values in self.model_dump().values():
            out.update(values)
        return out

    def by_uid(self) -> dict[str, str]:
        """Map each UID to the kind of object it was referenced as (field name)."""
        out: dict[str, str] = {}
        for kind, values in self.model_dump().items():
            for uid in values:
                out.setdefault(uid, kind)
        return out


class ExpressionAnalysis(BaseModel):
    """What an expression contains and how complex it is.

    Attributes:
        expression: The analysed text.
        context: The context it was checked against.
        valid: False when the text does not parse (then `error` is set and the
            counts are empty).
        error: Reason and 0-based position of the syntax error.
        items: Canonical text of every item occurrence, in order (repeats kept).
        item_counts: Occurrences per item kind (`ItemKind` names in lower case,
            e.g. ``data_element``, ``constant``, ``days``).
        uids: Distinct UIDs by kind of object.
        operator_counts: Occurrences per operator; binary operators by symbol
            (`and`/`or` counted as `&&`/`||`), prefix ones as ``unary -``,
            ``unary +`` and ``!``.
        function_counts: Calls per function name (``if``, ``d2:hasValue``,
            ``orgUnit.group``, and dot functions with a leading dot,
            ``.periodOffset``).
        nesting_depth: The largest number of parenthesis pairs enclosing any
            point of the canonical rendering (`render_expression`): function
            argument lists and the grouping parentheses precedence requires.
            Redundant parentheses in the source do not count. Examples:
            ``#{a}+#{b}`` 0, ``(#{a}+#{b})/#{c}`` 1,
            ``if(isNull(#{a}),0,#{a})`` 2.
        operand_count: Number of item occurrences (``len(items)``).
        arithmetic_operator_count: Number of ``+ - * / % ^`` operators, binary
            and prefix.
        simple_score: ``operand_count + arithmetic_operator_count``: what the
            usual regex-based scripts compute.
        complexity_score: ``operand_count + (all operators) + 2 * (function
            calls, dot functions included) + 2 * nesting_depth``.
        complexity: The level of `complexity_score` under the bins used.
        disallowed: Constructs the context does not allow (e.g.
            ``orgUnit.group(`` or ``sum(`` in an indicator), in order of first
            appearance.
    """

    model_config = ConfigDict(frozen=True)

    expression: str
    context: ExpressionContext
    valid: bool
    error: ExpressionError | None = None
    items: list[str] = Field(default_factory=list)
    item_counts: dict[str, int] = Field(default_factory=dict)
    uids: ReferencedUids = Field(default_factory=ReferencedUids)
    operator_counts: dict[str, int] = Field(default_factory=dict)
    function_counts: dict[str, int] = Field(default_factory=dict)
    nesting_depth: int = 0
    operand_count: int = 0
    arithmetic_operator_count: int = 0
    simple_score: int = 0
    complexity_score: int = 0
    complexity: ComplexityLevel | None = None
    disallowed: list[str] = Field(default_factory=list)


def analyze_expression(
    text: str,
    context: ExpressionContext = "indicator",
    *,
    bins: ComplexityBins | None = None,
) -> ExpressionAnalysis:
    """Parse and analyse an expression; invalid text gives ``valid=False``.

    Args:
        text: The expression.
        context: What the expression is used for: ``indicator``,
            ``validation_rule``, ``predictor`` or ``program_indicator``. Decides
            which constructs are reported in `disallowed` (and, for program
            indicators, that ``#{a.b}`` means program stage + data element).
        bins: Complexity bins (defaults: `ComplexityBins()`).

    Returns:
        The analysis.

    Raises:
        ValueError: For an unknown `context` (never for bad expression text).

    Examples:
        >>> a = analyze_expression("#{fbfJHSPpUQD.pq2XI5kz2BY}+#{fbfJHSPpUQD.PT59n8BQbqM}")
        >>> a.valid, a.operand_count, a.simple_score, a.complexity
        (True, 2, 3, 'simple')
        >>> a.uids.data_elements, a.uids.category_option_combos
        (['fbfJHSPpUQD'], ['PT59n8BQbqM', 'pq2XI5kz2BY'])
        >>> analyze_expression("orgUnit.group(RXL3lPSK8oG)").disallowed
        ['orgUnit.group(']
        >>> bad = analyze_expression("if(#{fbfJHSPpUQD}, 1")
        >>> bad.valid, bad.error.position
        (False, 20)
    """
    _check_context(context)
    try:
        tree = parse_expression(text)
    except ExpressionSyntaxError as error:
        return ExpressionAnalysis(
            expression=text,
            context=context,
            valid=False,
            error=ExpressionError(reason=error.reason, position=error.position),
        )
    return analyze_tree(tree, context, bins=bins, text=text)


def analyze_tree(
    tree: Expression,
    context: ExpressionContext = "indicator",
    *,
    bins: ComplexityBins | None = None,
    text: str | None = None,
) -> ExpressionAnalysis:
    """Analyse an already parsed expression (see `analyze_expression`).

    Args:
        tree: The syntax tree.
        context: See `analyze_expression`.
        bins: Complexity bins (defaults: `ComplexityBins()`).
        text: The source text to record (defaults to the canonical rendering).
    """
    _check_context(context)
    if text is None:
        from prefect_dhis2.expressions.render import render_expression

        text = render_expression(tree)
    walker = _Walker(context)
    walker.visit(tree)
    depth = nesting_depth(tree)
    operators = sum(walker.operators.values())
    arithmetic = sum(
        n for op, n in walker.operators.items() if op.split()[-1] in ARITHMETIC_OPERATORS
    )
    calls = sum(walker.functions.values())
    operands = len(walker.items)
    score = operands + operators + 2 * calls + 2 * depth
    return ExpressionAnalysis(
        expression=text,
        context=context,
        valid=True,
        items=walker.items,
        item_counts=dict(walker.item_counts),
        uids=ReferencedUids(**{kind: sorted(uids) for kind, uids in walker.uids.items()}),
        operator_counts=dict(walker.operators),
        function_counts=dict(walker.functions),
        nesting_depth=depth,
        operand_count=operands,
        arithmetic_operator_count=arithmetic,
        simple_score=operands + arithmetic,
        complexity_score=score,
        complexity=(bins or ComplexityBins()).classify(score),
        disallowed=list(walker.disallowed),
    )


def nesting_depth(tree: Expression) -> int:
    """Maximum number of parenthesis pairs around any point of the canonical text.

    Counts function/dot-function argument lists and the grouping parentheses
    that precedence requires; items' braces do not count.

    Examples:
        >>> nesting_depth(parse_expression("((#{fbfJHSPpUQD}))"))
        0
        >>> nesting_depth(parse_expression("if(isNull(#{fbfJHSPpUQD}),0,1)"))
        2
    """
    if isinstance(tree, BinaryOp):
        level = precedence(tree)
        left, right = precedence(tree.left), precedence(tree.right)
        if tree.op == "^":
            wrap_left, wrap_right = left <= level, right < level
        else:
            wrap_left, wrap_right = left < level, right <= level
        return max(nesting_depth(tree.left) + wrap_left, nesting_depth(tree.right) + wrap_right)
    if isinstance(tree, UnaryOp):
        return nesting_depth(tree.operand) + (precedence(tree.operand) < UNARY_PRECEDENCE)
    if isinstance(tree, FunctionCall):
        return 1 + max((nesting_depth(arg) for arg in tree.args), default=0)
    if isinstance(tree, PostfixFunction):
        operand = tree.operand
        wrap = precedence(operand) < POSTFIX_PRECEDENCE or isinstance(operand, NumberLiteral)
        return max(nesting_depth(operand) + wrap, 1)
    if isinstance(tree, OrgUnitFunction):
        return 1
    return 0


def _check_context(context: str) -> None:
    if context not in _ALLOWED:
        choices = ", ".join(get_args(ExpressionContext))
        raise ValueError(f"unknown expression context {context!r}; expected one of {choices}")


def _item_feature(item: Item) -> str:
    kind = item.kind
    if kind is ItemKind.ATTRIBUTE:
        return "A{p.a}" if len(item.parts) == 2 else "A{a}"
    if kind is ItemKind.PS_EVENTDATE:
        return "PS_EVENTDATE:"
    if kind.value.startswith("["):
        return kind.value
    return f"{kind.value}{{}}"


class _Walker:
    """Collects counts and UIDs in one traversal."""

    def __init__(self, context: str) -> None:
        self.context = context
        self.allowed = _ALLOWED[context]
        self.items: list[str] = []
        self.item_counts: Counter[str] = Counter()
        self.operators: Counter[str] = Counter()
        self.functions: Counter[str] = Counter()
        self.disallowed: dict[str, None] = {}
        self.uids: dict[str, set[str]] = {name: set() for name in ReferencedUids.model_fields}

    def visit(self, node: Expression) -> None:
        if isinstance(node, BinaryOp):
            self.operators[node.op] += 1
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, Item):
            self.item(node)
        elif isinstance(node, UnaryOp):
            self.operators["!" if node.op == "!" else f"unary {node.op}"] += 1
            self.visit(node.operand)
        elif isinstance(node, FunctionCall):
            self.functions[node.name] += 1
            if node.name not in self.allowed.functions:
                self.disallowed[f"{node.name}("] = None
            for arg in node.args:
                self.visit(arg)
        elif isinstance(node, PostfixFunction):
            self.functions[f".{node.name}"] += 1
            if node.name not in self.allowed.postfix:
                self.disallowed[f".{node.name}("] = None
            self.visit(node.operand)
        elif isinstance(node, OrgUnitFunction):
            self.functions[f"orgUnit.{node.name}"] += 1
            if not self.allowed.org_unit:
                self.disallowed[f"orgUnit.{node.name}("] = None
            target = {
                "ancestor": "org_units",
                "dataSet": "data_sets",
                "group": "org_unit_groups",
                "program": "programs",
            }[node.name]
            self.uids[target].update(node.uids)

    def item(self, item: Item) -> None:
        self.items.append(item.text)
        self.item_counts[item.kind.name.lower()] += 1
        feature = _item_feature(item)
        if feature not in self.allowed.items:
            self.disallowed[feature] = None
        kind, parts, uids = item.kind, item.parts, self.uids
        if kind is ItemKind.DATA_ELEMENT:
            if self.context == "program_indicator" and len(parts) == 2:
                uids["program_stages"].add(parts[0])
                uids["data_elements"].add(parts[1])
                return
            self._tagged(parts[0], "data_elements")
            if len(parts) > 1:
                self._tagged(parts[1], "category_option_combos")
            if len(parts) > 2:
                self._tagged(parts[2], "attribute_option_combos")
        elif kind is ItemKind.ATTRIBUTE:
            if len(parts) == 2:
                uids["programs"].add(parts[0])
            uids["tracked_entity_attributes"].add(parts[-1])
        elif kind is ItemKind.PROGRAM_DATA_ELEMENT:
            uids["programs"].add(parts[0])
            uids["data_elements"].add(parts[1])
        elif kind is ItemKind.REPORTING_RATE:
            uids["data_sets"].add(parts[0])
        elif kind is ItemKind.PS_EVENTDATE:
            uids["program_stages"].add(parts[0])
        elif kind in _SINGLE_UID_KINDS:
            uids[_SINGLE_UID_KINDS[kind]].add(parts[0])

    def _tagged(self, part: str, plain_kind: str) -> None:
        if part == "*":
            return
        tag, _, value = part.rpartition(":")
        target = {
            "": plain_kind,
            "deGroup": "data_element_groups",
            "co": "category_options",
            "coGroup": "category_option_groups",
        }[tag]
        self.uids[target].update(value.split("&"))


_SINGLE_UID_KINDS = {
    ItemKind.CONSTANT: "constants",
    ItemKind.PROGRAM_INDICATOR: "program_indicators",
    ItemKind.INDICATOR: "indicators",
    ItemKind.ORG_UNIT_GROUP: "org_unit_groups",
}
