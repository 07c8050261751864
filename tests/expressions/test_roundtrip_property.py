"""Property test: generated valid trees render to text that parses back to them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from prefect_dhis2.expressions import (
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
    analyze_expression,
    parse_expression,
    render_expression,
)
from prefect_dhis2.expressions.grammar import (
    AGGREGATION_TYPES,
    BINARY_PRECEDENCE,
    FUNCTION_ARITY,
    ORG_UNIT_FUNCTIONS,
    PROGRAM_VARIABLES,
    REPORTING_RATE_METRICS,
)
from prefect_dhis2.expressions.syntax import PostfixArgument

uids = st.from_regex(r"[A-Za-z][A-Za-z0-9]{10}", fullmatch=True)
coc_parts = st.one_of(
    uids,
    st.just("*"),
    uids.map(lambda uid: f"co:{uid}"),
    st.lists(uids, min_size=1, max_size=3).map(lambda group: "coGroup:" + "&".join(group)),
)


@st.composite
def data_element_items(draw: st.DrawFn) -> Item:
    first = draw(st.one_of(uids, uids.map(lambda uid: f"deGroup:{uid}")))
    rest = draw(st.lists(coc_parts, max_size=2))
    if rest == ["*", "*"]:
        rest = ["*"]
    return Item(ItemKind.DATA_ELEMENT, (first, *rest))


items = st.one_of(
    data_element_items(),
    st.tuples(uids, uids).map(lambda p: Item(ItemKind.ATTRIBUTE, p)),
    uids.map(lambda uid: Item(ItemKind.ATTRIBUTE, (uid,))),
    uids.map(lambda uid: Item(ItemKind.CONSTANT, (uid,))),
    st.tuples(uids, uids).map(lambda p: Item(ItemKind.PROGRAM_DATA_ELEMENT, p)),
    uids.map(lambda uid: Item(ItemKind.PROGRAM_INDICATOR, (uid,))),
    uids.map(lambda uid: Item(ItemKind.INDICATOR, (uid,))),
    uids.map(lambda uid: Item(ItemKind.ORG_UNIT_GROUP, (uid,))),
    st.tuples(uids, st.sampled_from(sorted(REPORTING_RATE_METRICS))).map(
        lambda p: Item(ItemKind.REPORTING_RATE, p)
    ),
    st.sampled_from(sorted(PROGRAM_VARIABLES)).map(
        lambda name: Item(ItemKind.PROGRAM_VARIABLE, (name,))
    ),
    uids.map(lambda uid: Item(ItemKind.PS_EVENTDATE, (uid,))),
    st.sampled_from([ItemKind.DAYS, ItemKind.PERIOD_IN_YEAR, ItemKind.YEARLY_PERIOD_COUNT]).map(
        Item
    ),
)

numbers = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(float),
    st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False),
).map(NumberLiteral)

leaves: st.SearchStrategy[Expression] = st.one_of(
    items,
    numbers,
    st.text(max_size=8).map(StringLiteral),
    st.booleans().map(BooleanLiteral),
    st.just(NullLiteral()),
    st.tuples(
        st.sampled_from(sorted(ORG_UNIT_FUNCTIONS)), st.lists(uids, min_size=1, max_size=3)
    ).map(lambda p: OrgUnitFunction(p[0], tuple(p[1]))),
)

postfix_arguments: dict[str, st.SearchStrategy[PostfixArgument]] = {
    "periodOffset": st.integers(min_value=-24, max_value=24),
    "stageOffset": st.integers(min_value=-5, max_value=5),
    "aggregationType": st.sampled_from(sorted(AGGREGATION_TYPES)),
    "maxDate": st.dates(min_value=dt.date(1000, 1, 1)),
    "minDate": st.dates(min_value=dt.date(1000, 1, 1)),
    "yearToDate": st.none(),
}


def extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    @st.composite
    def calls(draw: st.DrawFn) -> Expression:
        name = draw(st.sampled_from(sorted(FUNCTION_ARITY)))
        low, high = FUNCTION_ARITY[name]
        count = draw(st.integers(min_value=low, max_value=high if high is not None else low + 3))
        args = tuple(draw(children) for _ in range(count))
        distinct = name == "count" and draw(st.booleans())
        return FunctionCall(name, args, distinct)

    @st.composite
    def postfix(draw: st.DrawFn) -> Expression:
        name = draw(st.sampled_from(sorted(postfix_arguments)))
        return PostfixFunction(draw(children), name, draw(postfix_arguments[name]))

    return st.one_of(
        st.builds(UnaryOp, st.sampled_from(["-", "+", "!"]), children),
        st.builds(BinaryOp, st.sampled_from(sorted(BINARY_PRECEDENCE)), children, children),
        calls(),
        postfix(),
    )


trees = st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_render_then_parse_gives_the_same_tree(tree: Expression) -> None:
    text = render_expression(tree)
    parsed = parse_expression(text)
    assert parsed == tree
    # The canonical text is a fixed point.
    assert render_expression(parsed) == text


@settings(max_examples=100, deadline=None)
@given(trees)
def test_analysis_of_rendered_trees_is_valid(tree: Expression) -> None:
    analysis = analyze_expression(render_expression(tree), "predictor")
    assert analysis.valid
    assert analysis.operand_count == len(analysis.items)


# Operator-only trees, biased towards deep nesting so that precedence and
# associativity mistakes show up quickly (st.recursive favours small trees).
@st.composite
def operator_trees(draw: st.DrawFn, depth: int = 4) -> Expression:
    shape = draw(st.sampled_from(["binary", "binary", "binary", "unary", "leaf"]))
    if depth == 0 or shape == "leaf":
        return draw(st.one_of(st.integers(0, 9).map(float).map(NumberLiteral), items))
    if shape == "unary":
        return UnaryOp(draw(st.sampled_from(["-", "+", "!"])), draw(operator_trees(depth - 1)))
    op = draw(st.sampled_from(["^", "^", "^", "-", "-", "*", "/", "%", "+", "<", "==", "&&", "||"]))
    return BinaryOp(op, draw(operator_trees(depth - 1)), draw(operator_trees(depth - 1)))


@settings(max_examples=200, deadline=None)
@given(operator_trees())
def test_operator_trees_round_trip(tree: Expression) -> None:
    text = render_expression(tree)
    assert parse_expression(text) == tree
    assert render_expression(parse_expression(text)) == text
