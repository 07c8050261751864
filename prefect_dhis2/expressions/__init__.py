"""DHIS2 expressions: parse, render, analyse, describe and evaluate.

Indicators, program indicators, validation rules and predictors are written in
DHIS2's expression language (`#{dataElement.categoryOptionCombo}`, `C{constant}`,
`if(...)`, ...). This package parses them with a hand-written parser that follows
DHIS2's grammar, and builds reports on top of the typed syntax tree.

Examples:
    >>> from prefect_dhis2.expressions import parse_expression, render_expression
    >>> tree = parse_expression("#{fbfJHSPpUQD.pq2XI5kz2BY} + #{fbfJHSPpUQD.PT59n8BQbqM}")
    >>> render_expression(tree)
    '#{fbfJHSPpUQD.pq2XI5kz2BY}+#{fbfJHSPpUQD.PT59n8BQbqM}'
"""

from prefect_dhis2.expressions.analysis import (
    ComplexityBins,
    ComplexityLevel,
    ExpressionAnalysis,
    ExpressionContext,
    ExpressionError,
    ReferencedUids,
    analyze_expression,
    analyze_tree,
    nesting_depth,
)
from prefect_dhis2.expressions.dependencies import (
    DependencyGraph,
    IndicatorDependencies,
    MissingReference,
    data_set_elements_from_metadata,
    expression_dependencies,
    find_missing_references,
)
from prefect_dhis2.expressions.describe import (
    ExpressionDescription,
    describe_expression,
    describe_expression_details,
    describe_item,
)
from prefect_dhis2.expressions.errors import ExpressionEvaluationError, ExpressionSyntaxError
from prefect_dhis2.expressions.evaluate import MissingValueStrategy, evaluate_expression
from prefect_dhis2.expressions.parser import parse_expression
from prefect_dhis2.expressions.render import render_expression
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

__all__ = [
    "BinaryOp",
    "BooleanLiteral",
    "ComplexityBins",
    "ComplexityLevel",
    "DependencyGraph",
    "Expression",
    "ExpressionAnalysis",
    "ExpressionContext",
    "ExpressionDescription",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "FunctionCall",
    "IndicatorDependencies",
    "Item",
    "ItemKind",
    "MissingReference",
    "MissingValueStrategy",
    "NullLiteral",
    "NumberLiteral",
    "OrgUnitFunction",
    "PostfixFunction",
    "ReferencedUids",
    "StringLiteral",
    "UnaryOp",
    "analyze_expression",
    "analyze_tree",
    "data_set_elements_from_metadata",
    "describe_expression",
    "describe_expression_details",
    "describe_item",
    "evaluate_expression",
    "expression_dependencies",
    "find_missing_references",
    "nesting_depth",
    "parse_expression",
    "render_expression",
]
