"""Parse rate of the DHIS2 expression parser on 100,000 realistic expressions.

Builds a deterministic corpus (sums of data elements with and without category
option combos, ratios, if/isNull, functions, dot functions, nested parentheses,
constants, reporting rates, [days]), parses all of it five times and prints the
median expressions/s and MB/s. As a baseline measured in the same run it times
the naive regex item counter that simple scripts use (``#\\{[^}]*\\}`` findall),
and prints the ratio.

Run: ``python benchmarks/expression_parse_rate.py [--count N] [--runs R]``
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import string
import time
from collections.abc import Callable

from prefect_dhis2.expressions import analyze_expression, parse_expression

_ALNUM = string.ascii_letters + string.digits


def _uid(rng: random.Random) -> str:
    return rng.choice(string.ascii_letters) + "".join(rng.choice(_ALNUM) for _ in range(10))


class _Corpus:
    """Deterministic generator of indicator-like expressions."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.des = [_uid(self.rng) for _ in range(400)]
        self.cocs = [_uid(self.rng) for _ in range(40)]
        self.constants = [_uid(self.rng) for _ in range(20)]
        self.data_sets = [_uid(self.rng) for _ in range(15)]
        self.groups = [_uid(self.rng) for _ in range(10)]

    def item(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return f"#{{{rng.choice(self.des)}}}"
        if roll < 0.92:
            return f"#{{{rng.choice(self.des)}.{rng.choice(self.cocs)}}}"
        if roll < 0.96:
            return f"C{{{rng.choice(self.constants)}}}"
        if roll < 0.98:
            return f"R{{{rng.choice(self.data_sets)}.REPORTING_RATE}}"
        return f"OUG{{{rng.choice(self.groups)}}}"

    def total(self, low: int = 1, high: int = 8) -> str:
        rng = self.rng
        terms = [self.item()]
        for _ in range(rng.randint(low, high) - 1):
            terms.append(rng.choice((" + ", "+", " - ")) + self.item())
        return "".join(terms)

    def expression(self) -> str:
        rng = self.rng
        a, b = self.item(), self.item()
        kind = rng.random()
        if kind < 0.45:
            return self.total()
        if kind < 0.60:
            return f"({self.total(1, 4)}) / ({self.total(1, 4)}) * 100"
        if kind < 0.68:
            return f"if(isNull({a}), 0, {a}) + {b}"
        if kind < 0.74:
            return f"if({a} > 0, {b} / {a}, 0)"
        if kind < 0.78:
            return f"greatest({a}, {b}, 0) - least({a}, {b})"
        if kind < 0.82:
            return f"firstNonNull({a}, {b}, 0) * {rng.randint(1, 1000)}"
        if kind < 0.85:
            return f"log10({a} + 1) / log({b} + 2, 10)"
        if kind < 0.88:
            return f"{a}.periodOffset(-1) + {a}.periodOffset(-2) /* last two */"
        if kind < 0.91:
            return f"subExpression(if({a} > {rng.randint(0, 50)}, 1, 0))"
        if kind < 0.95:
            return f"(({a} + {b}) * ({self.item()} - {self.item()})) / ({self.item()} + 1)"
        if kind < 0.98:
            return f"{a} / [days] * 365"
        return f"removeZeros({a} - {b}) ^ 2 % 7 && !isNotNull({b}) || {a} >= 1.5e2"


def build_corpus(count: int, seed: int = 20240601) -> list[str]:
    """Return `count` deterministic expressions."""
    corpus = _Corpus(seed)
    return [corpus.expression() for _ in range(count)]


def _time(function: Callable[[str], object], corpus: list[str], runs: int) -> float:
    """Median seconds to apply `function` to the whole corpus."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        for text in corpus:
            function(text)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    corpus = build_corpus(args.count)
    megabytes = sum(len(text.encode()) for text in corpus) / 1e6
    for text in corpus[:2000]:  # every generated expression must be valid
        parse_expression(text)

    item_re = re.compile(r"#\{[^}]*\}")
    regex_seconds = _time(item_re.findall, corpus, args.runs)
    parse_seconds = _time(parse_expression, corpus, args.runs)
    analyze_runs = max(1, args.runs // 2)
    analyze_count = min(len(corpus), 20_000)
    analyze_seconds = _time(analyze_expression, corpus[:analyze_count], analyze_runs)

    parse_rate = len(corpus) / parse_seconds
    regex_rate = len(corpus) / regex_seconds
    print(f"corpus: {len(corpus):,} expressions, {megabytes:.2f} MB, median of {args.runs} runs")
    print(
        f"parse_expression:   {parse_rate:12,.0f} expressions/s  "
        f"{megabytes / parse_seconds:7.2f} MB/s  ({parse_seconds:.3f} s per pass)"
    )
    print(
        f"regex item count:   {regex_rate:12,.0f} expressions/s  "
        f"{megabytes / regex_seconds:7.2f} MB/s  ({regex_seconds:.3f} s per pass)"
    )
    print(
        f"analyze_expression: {analyze_count / analyze_seconds:12,.0f} expressions/s "
        f"(first {analyze_count:,}, median of {analyze_runs} runs)"
    )
    print(f"ratio regex/parse: {regex_rate / parse_rate:.1f}x (the regex only counts items)")


if __name__ == "__main__":
    main()
