"""Hand-written corpus: expressions with their expected trees, and invalid
expressions with the expected error position.

Every expected tree and position below was worked out by hand from DHIS2's grammar
(Expression.g4) and its precedence rules, not produced by running the parser.
"""

from __future__ import annotations

import datetime as dt

import pytest

from prefect_dhis2.expressions import (
    BinaryOp,
    BooleanLiteral,
    Expression,
    ExpressionSyntaxError,
    FunctionCall,
    Item,
    ItemKind,
    NullLiteral,
    NumberLiteral,
    OrgUnitFunction,
    PostfixFunction,
    StringLiteral,
    UnaryOp,
    parse_expression,
    render_expression,
)

# Sierra Leone demo identifiers.
DE_A = "fbfJHSPpUQD"  # ANC 1st visit
DE_B = "cYeuwXTCPkU"  # ANC 2nd visit
DE_C = "Jtf34kNZhzP"  # ANC 3rd visit
COC_1 = "pq2XI5kz2BY"  # Fixed
COC_2 = "PT59n8BQbqM"  # Outreach
AOC = "HllvX50cXC0"  # default
PROG = "IpHINAT79UW"
ATTR = "w75KJ2mc4zz"
STAGE = "A03MvHHogjR"
DS = "QX4ZTUbOt3a"
OUG_ID = "RXL3lPSK8oG"
CONST = "bWtSzNmVjfv"
IND = "Uvn6LCg7dVU"
PI_ID = "p2Zxg0wcPQ3"
OU = "ImspTQPwCqd"


def n(value: float) -> NumberLiteral:
    return NumberLiteral(float(value))


def de(*parts: str) -> Item:
    return Item(ItemKind.DATA_ELEMENT, parts)


def item(kind: ItemKind, *parts: str) -> Item:
    return Item(kind, parts)


def b(op: str, left: Expression, right: Expression) -> BinaryOp:
    return BinaryOp(op, left, right)


def u(op: str, operand: Expression) -> UnaryOp:
    return UnaryOp(op, operand)


def f(name: str, *args: Expression, distinct: bool = False) -> FunctionCall:
    return FunctionCall(name, args, distinct)


def post(operand: Expression, name: str, argument: int | str | dt.date | None = None) -> Expression:
    return PostfixFunction(operand, name, argument)


A, B, C = de(DE_A), de(DE_B), de(DE_C)
TRUE, FALSE = BooleanLiteral(True), BooleanLiteral(False)

VALID: list[tuple[str, Expression]] = [
    # --- numeric literals -------------------------------------------------
    ("0", n(0)),
    ("12", n(12)),
    ("1.5", n(1.5)),
    (".5", n(0.5)),
    ("1.", n(1)),
    ("1e3", n(1000)),
    ("1.5E-2", n(0.015)),
    ("2e+2", n(200)),
    (".25e1", n(2.5)),
    ("0.0", n(0)),
    # --- strings, booleans, null --------------------------------------------
    ("'abc'", StringLiteral("abc")),
    ('"abc"', StringLiteral("abc")),
    ("''", StringLiteral("")),
    ("'it\\'s'", StringLiteral("it's")),
    ('"say \\"hi\\""', StringLiteral('say "hi"')),
    ("'a\\nb'", StringLiteral("a\nb")),
    ("'tab\\there'", StringLiteral("tab\there")),
    ("'\\u0041'", StringLiteral("A")),
    ("'\\101'", StringLiteral("A")),
    ("'back\\\\slash'", StringLiteral("back\\slash")),
    (f"'{DE_A}'", StringLiteral(DE_A)),
    ("'a \"q\" b'", StringLiteral('a "q" b')),
    ("true", TRUE),
    ("false", FALSE),
    ("null", NullLiteral()),
    # --- data element items ---------------------------------------------------
    (f"#{{{DE_A}}}", A),
    (f"#{{{DE_A}.{COC_1}}}", de(DE_A, COC_1)),
    (f"#{{{DE_A}.{COC_1}.{AOC}}}", de(DE_A, COC_1, AOC)),
    (f"#{{{DE_A}.*}}", de(DE_A, "*")),
    (f"#{{{DE_A}.{COC_1}.*}}", de(DE_A, COC_1, "*")),
    (f"#{{{DE_A}.*.{AOC}}}", de(DE_A, "*", AOC)),
    (f"#{{deGroup:{DE_B}}}", de(f"deGroup:{DE_B}")),
    (f"#{{deGroup:{DE_B}.{COC_1}}}", de(f"deGroup:{DE_B}", COC_1)),
    (f"#{{{DE_A}.co:{COC_2}}}", de(DE_A, f"co:{COC_2}")),
    (f"#{{{DE_A}.coGroup:{COC_1}&{COC_2}}}", de(DE_A, f"coGroup:{COC_1}&{COC_2}")),
    (f"#{{{DE_A}.{COC_1}.co:{AOC}}}", de(DE_A, COC_1, f"co:{AOC}")),
    # --- other items ----------------------------------------------------------
    (f"A{{{PROG}.{ATTR}}}", item(ItemKind.ATTRIBUTE, PROG, ATTR)),
    (f"A{{{ATTR}}}", item(ItemKind.ATTRIBUTE, ATTR)),
    (f"C{{{CONST}}}", item(ItemKind.CONSTANT, CONST)),
    (f"D{{{PROG}.{DE_A}}}", item(ItemKind.PROGRAM_DATA_ELEMENT, PROG, DE_A)),
    (f"I{{{PI_ID}}}", item(ItemKind.PROGRAM_INDICATOR, PI_ID)),
    (f"N{{{IND}}}", item(ItemKind.INDICATOR, IND)),
    (f"OUG{{{OUG_ID}}}", item(ItemKind.ORG_UNIT_GROUP, OUG_ID)),
    (f"R{{{DS}.REPORTING_RATE}}", item(ItemKind.REPORTING_RATE, DS, "REPORTING_RATE")),
    (
        f"R{{{DS}.REPORTING_RATE_ON_TIME}}",
        item(ItemKind.REPORTING_RATE, DS, "REPORTING_RATE_ON_TIME"),
    ),
    (f"R{{{DS}.ACTUAL_REPORTS}}", item(ItemKind.REPORTING_RATE, DS, "ACTUAL_REPORTS")),
    (
        f"R{{{DS}.ACTUAL_REPORTS_ON_TIME}}",
        item(ItemKind.REPORTING_RATE, DS, "ACTUAL_REPORTS_ON_TIME"),
    ),
    (f"R{{{DS}.EXPECTED_REPORTS}}", item(ItemKind.REPORTING_RATE, DS, "EXPECTED_REPORTS")),
    ("[days]", item(ItemKind.DAYS)),
    ("[periodInYear]", item(ItemKind.PERIOD_IN_YEAR)),
    ("[yearlyPeriodCount]", item(ItemKind.YEARLY_PERIOD_COUNT)),
    ("V{event_date}", item(ItemKind.PROGRAM_VARIABLE, "event_date")),
    ("V{enrollment_count}", item(ItemKind.PROGRAM_VARIABLE, "enrollment_count")),
    (f"PS_EVENTDATE:{STAGE}", item(ItemKind.PS_EVENTDATE, STAGE)),
    (f"PS_EVENTDATE: {STAGE}", item(ItemKind.PS_EVENTDATE, STAGE)),
    # --- arithmetic and precedence -------------------------------------------------
    ("1+2", b("+", n(1), n(2))),
    ("1-2-3", b("-", b("-", n(1), n(2)), n(3))),
    ("8/2/2", b("/", b("/", n(8), n(2)), n(2))),
    ("1+2*3", b("+", n(1), b("*", n(2), n(3)))),
    ("1*2+3", b("+", b("*", n(1), n(2)), n(3))),
    ("(1+2)*3", b("*", b("+", n(1), n(2)), n(3))),
    ("2^3^2", b("^", n(2), b("^", n(3), n(2)))),
    ("(2^3)^2", b("^", b("^", n(2), n(3)), n(2))),
    ("-2^2", u("-", b("^", n(2), n(2)))),
    ("(-2)^2", b("^", u("-", n(2)), n(2))),
    ("2^-1", b("^", n(2), u("-", n(1)))),
    ("-2^-2", u("-", b("^", n(2), u("-", n(2))))),
    ("-2*3", b("*", u("-", n(2)), n(3))),
    ("2*3^2", b("*", n(2), b("^", n(3), n(2)))),
    ("2^3*4", b("*", b("^", n(2), n(3)), n(4))),
    ("7%4", b("%", n(7), n(4))),
    ("7%4*2", b("*", b("%", n(7), n(4)), n(2))),
    ("--1", u("-", u("-", n(1)))),
    ("+1", u("+", n(1))),
    ("1--1", b("-", n(1), u("-", n(1)))),
    (" - 2 ^ 2 ", u("-", b("^", n(2), n(2)))),
    (f"#{{{DE_A}}}*#{{{DE_B}}}+#{{{DE_C}}}*2", b("+", b("*", A, B), b("*", C, n(2)))),
    # --- comparison and logic -------------------------------------------------------
    ("1<2", b("<", n(1), n(2))),
    ("1<=2", b("<=", n(1), n(2))),
    ("1>2", b(">", n(1), n(2))),
    ("1>=2", b(">=", n(1), n(2))),
    ("1==2", b("==", n(1), n(2))),
    ("1!=2", b("!=", n(1), n(2))),
    ("1+1==2", b("==", b("+", n(1), n(1)), n(2))),
    ("1<2==true", b("==", b("<", n(1), n(2)), TRUE)),
    ("1<2<3", b("<", b("<", n(1), n(2)), n(3))),
    ("true&&false", b("&&", TRUE, FALSE)),
    ("true and false", b("&&", TRUE, FALSE)),
    ("true||false", b("||", TRUE, FALSE)),
    ("true or false", b("||", TRUE, FALSE)),
    ("true||false&&false", b("||", TRUE, b("&&", FALSE, FALSE))),
    ("true&&false||true", b("||", b("&&", TRUE, FALSE), TRUE)),
    ("1==1&&2!=3", b("&&", b("==", n(1), n(1)), b("!=", n(2), n(3)))),
    ("!true", u("!", TRUE)),
    ("not true", u("!", TRUE)),
    ("!true&&false", b("&&", u("!", TRUE), FALSE)),
    ("not 1==2", b("==", u("!", n(1)), n(2))),
    ("!(1==2)", u("!", b("==", n(1), n(2)))),
    ("1 or not 0", b("||", n(1), u("!", n(0)))),
    ("true and(false)", b("&&", TRUE, FALSE)),
    ("'a'=='a'", b("==", StringLiteral("a"), StringLiteral("a"))),
    # --- functions -------------------------------------------------------------------
    ("if(1,2,3)", f("if", n(1), n(2), n(3))),
    ("if(1>2,3,4)", f("if", b(">", n(1), n(2)), n(3), n(4))),
    (f"isNull(#{{{DE_A}}})", f("isNull", A)),
    (f"!isNull(#{{{DE_A}}})", u("!", f("isNull", A))),
    (f"not isNull(#{{{DE_A}}})", u("!", f("isNull", A))),
    (f"isNotNull(#{{{DE_A}}})", f("isNotNull", A)),
    (f"firstNonNull(#{{{DE_A}}},#{{{DE_B}}},0)", f("firstNonNull", A, B, n(0))),
    ("greatest(1,2,3)", f("greatest", n(1), n(2), n(3))),
    ("least(1)", f("least", n(1))),
    ("log(100)", f("log", n(100))),
    ("log(8,2)", f("log", n(8), n(2))),
    ("log10(1000)", f("log10", n(1000))),
    (f"removeZeros(#{{{DE_A}}})", f("removeZeros", A)),
    (
        f"subExpression(if(#{{{DE_A}}} > 0, 1, 0))",
        f("subExpression", f("if", b(">", A, n(0)), n(1), n(0))),
    ),
    ("contains('abc','a')", f("contains", StringLiteral("abc"), StringLiteral("a"))),
    (
        "containsItems('a,b','a','b')",
        f("containsItems", StringLiteral("a,b"), StringLiteral("a"), StringLiteral("b")),
    ),
    (f"is(#{{{DE_A}}} in 1,2,3)", f("is", A, n(1), n(2), n(3))),
    ("is('x' in 'x')", f("is", StringLiteral("x"), StringLiteral("x"))),
    ("normDistCum(1.5)", f("normDistCum", n(1.5))),
    ("normDistCum(1,0,1)", f("normDistCum", n(1), n(0), n(1))),
    ("normDistDen(0)", f("normDistDen", n(0))),
    (f"orgUnit.ancestor({OU})", OrgUnitFunction("ancestor", (OU,))),
    (f"orgUnit.dataSet({DS}, {DS})", OrgUnitFunction("dataSet", (DS, DS))),
    (f"orgUnit.group( {OUG_ID} )", OrgUnitFunction("group", (OUG_ID,))),
    (f"orgUnit.program({PROG})", OrgUnitFunction("program", (PROG,))),
    (f"avg(#{{{DE_A}}})", f("avg", A)),
    (f"count(#{{{DE_A}}})", f("count", A)),
    (f"count(distinct #{{{DE_A}}})", f("count", A, distinct=True)),
    (f"max(#{{{DE_A}}})", f("max", A)),
    (f"min(#{{{DE_A}}})", f("min", A)),
    (f"median(#{{{DE_A}}})", f("median", A)),
    (f"percentileCont(0.5,#{{{DE_A}}})", f("percentileCont", n(0.5), A)),
    (f"stddev(#{{{DE_A}}})", f("stddev", A)),
    (f"stddevPop(#{{{DE_A}}})", f("stddevPop", A)),
    (f"stddevSamp(#{{{DE_A}}})", f("stddevSamp", A)),
    (f"sum(#{{{DE_A}}})", f("sum", A)),
    (f"variance(#{{{DE_A}}})", f("variance", A)),
    (f"d2:hasValue(#{{{STAGE}.{DE_A}}})", f("d2:hasValue", de(STAGE, DE_A))),
    (
        "d2:daysBetween(V{enrollment_date}, V{event_date})",
        f(
            "d2:daysBetween",
            item(ItemKind.PROGRAM_VARIABLE, "enrollment_date"),
            item(ItemKind.PROGRAM_VARIABLE, "event_date"),
        ),
    ),
    ("d2:relationshipCount()", f("d2:relationshipCount")),
    (f"d2:relationshipCount('{DE_A}')", f("d2:relationshipCount", StringLiteral(DE_A))),
    (f"d2:minValue(PS_EVENTDATE:{STAGE})", f("d2:minValue", item(ItemKind.PS_EVENTDATE, STAGE))),
    ("d2:condition('1 > 0', 1, 0)", f("d2:condition", StringLiteral("1 > 0"), n(1), n(0))),
    ("d2:zScoreWFA(1,2,3)", f("d2:zScoreWFA", n(1), n(2), n(3))),
    ("d2:round(1.234,2)", f("d2:round", n(1.234), n(2))),
    # --- postfix functions -----------------------------------------------------
    (f"#{{{DE_A}}}.periodOffset(-1)", post(A, "periodOffset", -1)),
    (f"#{{{DE_A}}}.periodOffset(+2)", post(A, "periodOffset", 2)),
    (f"#{{{DE_A}}}.periodOffset( 0 )", post(A, "periodOffset", 0)),
    (f"#{{{DE_A}}}.aggregationType(SUM)", post(A, "aggregationType", "SUM")),
    (f"#{{{DE_A}}}.maxDate(2024-01-31)", post(A, "maxDate", dt.date(2024, 1, 31))),
    (f"#{{{DE_A}}}.minDate(2023-1-1)", post(A, "minDate", dt.date(2023, 1, 1))),
    (f"#{{{DE_A}}}.yearToDate()", post(A, "yearToDate")),
    (f"#{{{STAGE}.{DE_A}}}.stageOffset(-1)", post(de(STAGE, DE_A), "stageOffset", -1)),
    (
        f"#{{{DE_A}}}.periodOffset(-1).aggregationType(AVERAGE)",
        post(post(A, "periodOffset", -1), "aggregationType", "AVERAGE"),
    ),
    (f"(#{{{DE_A}}}+#{{{DE_B}}}).yearToDate()", post(b("+", A, B), "yearToDate")),
    (f"sum(#{{{DE_A}}}).maxDate(2020-12-31)", post(f("sum", A), "maxDate", dt.date(2020, 12, 31))),
    (f"#{{{DE_A}}}.periodOffset(1)^2", b("^", post(A, "periodOffset", 1), n(2))),
    (f"-#{{{DE_A}}}.periodOffset(-1)", u("-", post(A, "periodOffset", -1))),
    (f"#{{{DE_A}}}+#{{{DE_B}}}.periodOffset(1)", b("+", A, post(B, "periodOffset", 1))),
    (f"#{{{DE_A}}} .periodOffset(1)", post(A, "periodOffset", 1)),
    # --- whitespace and comments -----------------------------------------------
    (" 1 + 2 ", b("+", n(1), n(2))),
    (f"\t#{{{DE_A}}}\n*\r\n2", b("*", A, n(2))),
    ("/* c */ 1 /* d */", n(1)),
    ("1 /* multi\nline */ + 2", b("+", n(1), n(2))),
    ("if( 1 , 2 , 3 )", f("if", n(1), n(2), n(3))),
    ("((1))", n(1)),
    ("1/**/+2", b("+", n(1), n(2))),
    # --- real indicators (Sierra Leone demo) ----------------------------------------
    (f"#{{{DE_A}}}+#{{{DE_B}}}+#{{{DE_C}}}", b("+", b("+", A, B), C)),
    (
        "#{iuSIObmKutb}+#{nGCLjZDn0Q4}-#{FTINmL2lehN}-#{WVrH6j3Wfye}",
        b(
            "-",
            b("-", b("+", de("iuSIObmKutb"), de("nGCLjZDn0Q4")), de("FTINmL2lehN")),
            de("WVrH6j3Wfye"),
        ),
    ),
    (
        f"#{{{DE_A}.{COC_1}}}+#{{{DE_A}.{COC_2}}}",
        b("+", de(DE_A, COC_1), de(DE_A, COC_2)),
    ),
    (f"#{{{DE_A}}}/[days]*365", b("*", b("/", A, item(ItemKind.DAYS)), n(365))),
    (f"if(isNull(#{{{DE_A}}}),0,#{{{DE_A}}})", f("if", f("isNull", A), n(0), A)),
    (
        f"(#{{{DE_A}}}-#{{{DE_B}}})/#{{{DE_A}}}*100",
        b("*", b("/", b("-", A, B), A), n(100)),
    ),
    (f"#{{{DE_A}}}/C{{{CONST}}}", b("/", A, item(ItemKind.CONSTANT, CONST))),
    (
        f"R{{{DS}.ACTUAL_REPORTS}}/R{{{DS}.EXPECTED_REPORTS}}*100",
        b(
            "*",
            b(
                "/",
                item(ItemKind.REPORTING_RATE, DS, "ACTUAL_REPORTS"),
                item(ItemKind.REPORTING_RATE, DS, "EXPECTED_REPORTS"),
            ),
            n(100),
        ),
    ),
]

# (text, expected 0-based error position, a fragment of the expected reason)
INVALID: list[tuple[str, int, str]] = [
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("1 +", 3, "after '+'"),
    ("+", 1, "after '+'"),
    ("2 ^", 3, "after '^'"),
    ("true and", 8, "after 'and'"),
    ("(1", 2, "to close '('"),
    ("(1 + 2", 6, "to close '('"),
    ("((1)", 4, "to close '('"),
    ("1)", 1, "unmatched ')'"),
    ("()", 1, "found ')'"),
    ("*2", 0, "expected an operand"),
    ("1 +* 2", 3, "after '+'"),
    ("1 2", 2, "'2'"),
    (f"#{{{DE_A}}} #{{{DE_B}}}", 15, "expected an operator"),
    ("1,2", 1, "','"),
    ("1 ! 2", 2, "'!'"),
    ("01", 1, "'1'"),
    ("1.2.3", 3, "'.3'"),
    ("if (1,2,3)", 0, "directly by '('"),
    ("1 + if", 4, "directly by '('"),
    ("if(1,2", 6, "to close 'if('"),
    ("if(1,2)", 6, "at least 3"),
    ("if(1,2,3,4)", 8, "too many"),
    ("if(1;2;3)", 4, "';'"),
    ("isNull(1,2)", 8, "too many"),
    ("log(1,2,3)", 7, "too many"),
    ("sum()", 4, "found ')'"),
    ("percentileCont(0.5)", 18, "at least 2"),
    ("d2:relationshipCount(1,2)", 22, "too many"),
    ("foo(1)", 0, "unknown function 'foo('"),
    ("d2:foo(1)", 0, "unknown d2 function"),
    ("notisNull(1)", 0, "unknown function 'notisNull('"),
    ("abc", 0, "unexpected name"),
    ("is(1, 2)", 4, "'in'"),
    ("count(distinct)", 14, "after 'distinct'"),
    (f"#{{{DE_A}", 0, "unterminated item '#{'"),
    ("#{}", 0, "empty item"),
    ("#{abc}", 2, "data element"),
    (f"#{{{DE_A}.abc}}", 14, "category option combo"),
    (f"#{{{DE_A}.*.*}}", 16, "wildcard"),
    (f"#{{{DE_A}.{COC_1}.{AOC}.{DE_A}}}", 38, "too many parts"),
    (f"#{{{DE_A} {COC_1}}}", 13, "inside item"),
    (f"#{{{DE_A}}}}}", 14, "'}'"),
    (f"#{{xx:{DE_A}}}", 2, "data element"),
    ("C{abc}", 2, "UID"),
    (f"D{{{DE_A}}}", 13, "needs 2"),
    (f"R{{{DS}.RATE}}", 14, "metric"),
    ("OUG{abc}", 4, "UID"),
    ("V{unknown_var}", 2, "program variable"),
    ("[day]", 0, "[days]"),
    ("[days", 0, "[days]"),
    ("{1}", 0, "'{'"),
    ("1 = 1", 2, "'=='"),
    ("1 & 1", 2, "'&&'"),
    ("1 | 1", 2, "'||'"),
    ("'abc", 0, "unterminated string"),
    ("'a\\qb'", 2, "escape"),
    ("/* unterminated", 0, "comment"),
    (f"#{{{DE_A}}}.periodOffset(x)", 28, "integer"),
    (f"#{{{DE_A}}}.periodOffset(1.5)", 28, "integer"),
    (f"#{{{DE_A}}}.aggregationType(TOTAL)", 31, "aggregation type"),
    (f"#{{{DE_A}}}.maxDate(2024-02-30)", 23, "invalid date"),
    (f"#{{{DE_A}}}.maxDate(yesterday)", 23, "yyyy-M-d"),
    (f"#{{{DE_A}}}.foo(1)", 14, "unknown dot function"),
    (f"#{{{DE_A}}}.yearToDate(1)", 26, "to close '.yearToDate('"),
    (".periodOffset(1)", 0, "must follow an expression"),
    ("orgUnit.group(abc)", 14, "UID"),
    (f"orgUnit.group(#{{{DE_A}}})", 14, "UID"),
    (f"orgUnit.parent({DE_A})", 0, "unknown function"),
    (f"orgUnit.group({DE_A}", 25, "to close"),
    ("PS_EVENTDATE:abc", 13, "program stage UID"),
]


def test_corpus_size() -> None:
    assert len(VALID) + len(INVALID) >= 150
    assert len({text for text, _ in VALID}) == len(VALID)
    assert len({text for text, _, _ in INVALID}) == len(INVALID)


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_expression_parses_to_expected_tree(text: str, expected: Expression) -> None:
    assert parse_expression(text) == expected


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_expression_round_trips(text: str, expected: Expression) -> None:
    rendered = render_expression(expected)
    assert parse_expression(rendered) == expected
    assert render_expression(parse_expression(rendered)) == rendered


@pytest.mark.parametrize(
    ("text", "position", "reason"), INVALID, ids=[t or "<empty>" for t, _, _ in INVALID]
)
def test_invalid_expression_reports_position_and_reason(
    text: str, position: int, reason: str
) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    error = caught.value
    assert error.position == position, error.reason
    assert reason in error.reason
    assert error.text == text
    assert isinstance(error, ValueError)
    assert f"position {position}" in str(error)


def test_canonical_rendering_examples() -> None:
    cases = {
        "( #{fbfJHSPpUQD} + 1 ) * 2": "(#{fbfJHSPpUQD}+1)*2",
        "true and not false or true": "true&&!false||true",
        "1 - (2 - 3)": "1-(2-3)",
        "(1 - 2) - 3": "1-2-3",
        "(2 ^ 3) ^ 2": "(2^3)^2",
        "2 ^ (3 ^ 2)": "2^3^2",
        "(-2) ^ 2": "(-2)^2",
        "count( distinct 1 )": "count(distinct 1)",
        "is( 1  in 2 , 3 )": "is(1 in 2,3)",
        "(1).periodOffset( -1 )": "(1).periodOffset(-1)",
        "#{fbfJHSPpUQD}.maxDate(2024-01-05)": "#{fbfJHSPpUQD}.maxDate(2024-1-5)",
        "'it\\'s' + \"x\"": "'it\\'s'+'x'",
        "1.50": "1.5",
        "1e-7": "1e-07",
    }
    for source, canonical in cases.items():
        assert render_expression(parse_expression(source)) == canonical


def test_negative_number_literal_cannot_be_rendered() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        render_expression(NumberLiteral(-1.0))


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        parse_expression(None)  # type: ignore[arg-type]
