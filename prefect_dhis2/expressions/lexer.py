"""Tokenizer for DHIS2 expressions: one compiled regular expression.

Tokens are plain tuples ``(kind, text, position)`` for speed. Kinds:

- ``num``: a numeric literal (`12`, `1.5`, `.5`, `1e-3`).
- ``str``: a quoted string, still escaped (`'a\\'b'`).
- ``item``: a whole braced item (`#{de.coc}`, `C{uid}`, `R{ds.REPORTING_RATE}`, ...).
- ``bracket``: `[days]`, `[periodInYear]` or `[yearlyPeriodCount]`.
- ``ps``: `PS_EVENTDATE:` (the stage UID follows as a ``word``).
- ``func``: a function name WITH its opening parenthesis (`if(`, `d2:hasValue(`,
  `orgUnit.group(`). As in DHIS2's lexer, `if (` is therefore not a call.
- ``postfix``: a dot function with its parenthesis (`.periodOffset(`).
- ``word``: a bare name: keywords (`and or not true false null distinct in`),
  UIDs inside `orgUnit.*(...)`/after `PS_EVENTDATE:`, aggregation types.
- ``op``: operators and punctuation (`== != <= >= && || + - * / % ^ < > ! ( ) ,`).
- ``end``: end of input (position = length of the text).

Whitespace is `[ \\t\\r\\n]+`; `/* ... */` comments are skipped like whitespace.
"""

from __future__ import annotations

import re

from prefect_dhis2.expressions.errors import ExpressionSyntaxError

__all__ = ["KEYWORDS", "Token", "tokenize"]

Token = tuple[str, str, int]

#: Words that DHIS2 lexes as keywords even when a parenthesis follows (`and(`).
KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null", "distinct", "in"})

_EXPONENT = r"(?:[eE][+-]?[0-9]+)"
_ESCAPE = r"\\(?:[btnfr\"'\\]|[0-3][0-7]{2}|[0-7]{1,2}|u+[0-9a-fA-F]{4})"

_TOKEN_RE = re.compile(
    rf"""
    (?P<ws>(?:[ \t\r\n]+|/\*[\s\S]*?\*/)+)
   |(?P<num>(?:0|[1-9][0-9]*)(?:\.[0-9]*)?{_EXPONENT}?|\.[0-9]+{_EXPONENT}?)
   |(?P<item>(?:OUG|[#ACDINRV])\{{[A-Za-z0-9_:&.*]*\}})
   |(?P<bracket>\[(?:days|periodInYear|yearlyPeriodCount)\])
   |(?P<postfix>\.[A-Za-z_][A-Za-z0-9_]*\()
   |(?P<ps>PS_EVENTDATE:)
   |(?P<func>(?:d2:|orgUnit\.)?[A-Za-z_][A-Za-z0-9_]*\()
   |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
   |(?P<str>'(?:[^'\\\r\n]|{_ESCAPE})*'|"(?:[^"\\\r\n]|{_ESCAPE})*")
   |(?P<unclosed>/\*)
   |(?P<op>==|!=|<=|>=|&&|\|\||[-+*/%^<>!(),])
   |(?P<bad>[\s\S])
    """,
    re.VERBOSE,
)

_ITEM_OPEN_RE = re.compile(r"(?:OUG|[#ACDINRV])\{")
_ITEM_CHAR_RE = re.compile(r"[A-Za-z0-9_:&.*]*")
_ESCAPE_RE = re.compile(_ESCAPE)


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens, skipping whitespace and comments.

    Args:
        text: The expression.

    Returns:
        The tokens, ending with an ``end`` token.

    Raises:
        ExpressionSyntaxError: For text that cannot start any token
            (unterminated strings, items or comments, stray characters).

    Examples:
        >>> [kind for kind, _, _ in tokenize("if(#{fbfJHSPpUQD} > 0, 1, 0)")]
        ['func', 'item', 'op', 'num', 'op', 'num', 'op', 'num', 'op', 'end']
    """
    tokens: list[Token] = []
    append = tokens.append
    # Every character starts some alternative (`bad` catches the rest), so the
    # matches tile the text and no gap check is needed.
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "ws":
            continue
        value = m.group()
        pos = m.start()
        if kind == "func" and value[:-1] in KEYWORDS:
            # `and(` lexes as the keyword `and` followed by `(`.
            append(("word", value[:-1], pos))
            append(("op", "(", pos + len(value) - 1))
        elif kind == "bad" or kind == "unclosed":
            raise _lex_error(text, pos)
        else:
            append((kind, value, pos))  # type: ignore[arg-type]
    append(("end", "", len(text)))
    return tokens


def _lex_error(text: str, pos: int) -> ExpressionSyntaxError:
    """Explain why no token starts at `pos`."""
    char = text[pos]
    rest = text[pos:]
    opener = _ITEM_OPEN_RE.match(text, pos)
    if opener is not None:
        content_end = _ITEM_CHAR_RE.match(text, opener.end())
        assert content_end is not None  # the pattern matches the empty string
        stop = content_end.end()
        symbol = opener.group()
        if stop >= len(text):
            return ExpressionSyntaxError(
                f"unterminated item '{symbol}' (no closing '}}')", pos, text
            )
        return ExpressionSyntaxError(
            f"unexpected character {text[stop]!r} inside item '{symbol}...}}'", stop, text
        )
    if char in "'\"":
        i = pos + 1
        while i < len(text) and text[i] not in "\r\n":
            if text[i] == "\\":
                escape = _ESCAPE_RE.match(text, i)
                if escape is None:
                    return ExpressionSyntaxError("invalid escape sequence in string", i, text)
                i = escape.end()
                continue
            i += 1
        return ExpressionSyntaxError(f"unterminated string (missing closing {char})", pos, text)
    if rest.startswith("/*"):
        return ExpressionSyntaxError("unterminated comment (missing '*/')", pos, text)
    if char == "[":
        close = text.find("]", pos)
        shown = text[pos : close + 1] if close != -1 else "["
        return ExpressionSyntaxError(
            f"unknown item {shown!r}: expected [days], [periodInYear] or [yearlyPeriodCount]",
            pos,
            text,
        )
    if char == "=":
        return ExpressionSyntaxError("'=' is not an operator; use '==' to compare", pos, text)
    if char in "&|":
        return ExpressionSyntaxError(f"{char!r} is not an operator; use '{char * 2}'", pos, text)
    if char == ".":
        return ExpressionSyntaxError(
            "unexpected '.': a dot function needs its name and '(' (e.g. '.periodOffset(')",
            pos,
            text,
        )
    if char in "{}":
        return ExpressionSyntaxError(
            f"unexpected {char!r}: items are written #{{...}}, C{{...}}, D{{...}}, ...",
            pos,
            text,
        )
    return ExpressionSyntaxError(f"unexpected character {char!r}", pos, text)
