"""The indicator complexity report in markdown, and the models it is made of.

`indicator_complexity_markdown` renders what a programme manager reads: the
complexity distribution, the most complex expressions with their descriptions,
every invalid expression with its reason and position, constructs not allowed in
their context, and indicators referencing objects that do not exist.
`InvalidExpression` is how the flow report lists an expression that does not parse.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from prefect_dhis2.expressions import ComplexityBins
from prefect_dhis2.indicators.dependencies import IndicatorDependenciesResult
from prefect_dhis2.indicators.scoring import ExpressionScore, complexity_distribution
from prefect_dhis2.markdown import markdown_table

__all__ = ["InvalidExpression", "indicator_complexity_markdown"]

_BAR_WIDTH = 30


class InvalidExpression(BaseModel):
    """An expression that does not parse, and why.

    Attributes:
        object_type: `indicator`, `program_indicator` or `validation_rule`.
        object_id: The object's UID.
        object_name: Its name.
        side: The expression side (e.g. `numerator`).
        expression: The expression text as stored.
        reason: Why it does not parse.
        position: 0-based offset of the syntax error.
    """

    object_type: str
    object_id: str
    object_name: str | None = None
    side: str
    expression: str
    reason: str
    position: int

    @classmethod
    def from_score(cls, score: ExpressionScore) -> InvalidExpression:
        """The invalid expression a score describes.

        Examples:
            >>> from prefect_dhis2.indicators import score_expressions
            >>> numerator, _ = score_expressions(indicators=[{"id": "Uvn6LCg7dVU",
            ...     "numerator": "1 +", "denominator": "1"}])
            >>> InvalidExpression.from_score(numerator).position
            3
        """
        return cls(
            object_type=score.object_type,
            object_id=score.object_id,
            object_name=score.object_name,
            side=score.side,
            expression=score.expression,
            reason=score.error_reason or "",
            position=score.error_position or 0,
        )


def _short(text: str | None, limit: int = 160) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(name: str | None, uid: str) -> str:
    return f"{name} ({uid})" if name else uid


def _pointed(expression: str, position: int) -> str:
    """The expression with a marker where the syntax error was found."""
    before, after = expression[:position], expression[position:]
    return " ".join(
        part
        for part in (f"`{before}`" if before else "", "⟵ here ⟶", f"`{after}`" if after else "")
        if part
    )


def indicator_complexity_markdown(
    *,
    instance: str,
    scores: Sequence[ExpressionScore],
    dependencies: IndicatorDependenciesResult,
    bins: ComplexityBins,
    top: int = 10,
    unavailable: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> str:
    """The markdown report: distribution, most complex, every invalid expression,
    disallowed constructs and references to missing objects.

    Args:
        instance: The DHIS2 instance the expressions come from.
        scores: Every expression side scored (see `score_expressions`).
        dependencies: The dependency check of the same indicators.
        bins: The complexity bins the scores were binned with.
        top: How many of the most complex expressions to list.
        unavailable: Optional collections the instance did not serve, with why.
        files: Label -> path of the files written, listed at the end.

    Examples:
        >>> from prefect_dhis2.indicators import score_expressions
        >>> scores = score_expressions(indicators=[{"id": "Uvn6LCg7dVU",
        ...     "numerator": "#{fbfJHSPpUQD}", "denominator": "1"}])
        >>> md = indicator_complexity_markdown(instance="https://play.im.dhis2.org/dev",
        ...     scores=scores, dependencies=IndicatorDependenciesResult(), bins=ComplexityBins())
        >>> md.splitlines()[0]
        '# Indicator expression complexity'
    """
    distribution = complexity_distribution(scores)
    total = len(scores)
    widest = max(distribution.values(), default=0) or 1
    limits = {
        "trivial": f"≤ {bins.trivial_max}",
        "simple": f"{bins.trivial_max + 1} to {bins.simple_max}",
        "moderate": f"{bins.simple_max + 1} to {bins.moderate_max}",
        "complex": f"> {bins.moderate_max}",
        "invalid": "does not parse",
    }
    kinds = _object_summary(scores)
    parts = [
        "# Indicator expression complexity",
        "",
        f"Instance: {instance}. **{total:,}** expressions analysed ({kinds}).",
    ]
    if unavailable:
        parts.append(
            "Not available on this instance: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(unavailable.items()))
            + "."
        )
    parts += [
        "",
        "## Distribution",
        "",
        markdown_table(
            ["Level", "Score", "Expressions", "Share", ""],
            [
                [
                    level,
                    limits[level],
                    count,
                    f"{100 * count / total:.0f}%" if total else "-",
                    "█" * round(_BAR_WIDTH * count / widest),
                ]
                for level, count in distribution.items()
            ],
        ),
    ]
    valid = sorted(
        (s for s in scores if s.valid),
        key=lambda s: (-s.complexity_score, -s.simple_score, s.object_name or "", s.side),
    )
    if valid and top > 0:
        parts += [
            "",
            f"## The {min(top, len(valid))} most complex expressions",
            "",
            markdown_table(
                ["#", "Object", "Side", "Score", "Level", "Depth", "Description"],
                [
                    [
                        rank,
                        _label(s.object_name, s.object_id),
                        s.side,
                        s.complexity_score,
                        s.complexity,
                        s.nesting_depth,
                        _short(s.description),
                    ]
                    for rank, s in enumerate(valid[:top], start=1)
                ],
            ),
        ]
    invalid = [s for s in scores if not s.valid]
    parts += ["", f"## Invalid expressions ({len(invalid)})", ""]
    if invalid:
        parts.append(
            markdown_table(
                ["Object", "Type", "Side", "Reason", "Position", "Expression"],
                [
                    [
                        _label(s.object_name, s.object_id),
                        s.object_type,
                        s.side,
                        s.error_reason,
                        s.error_position,
                        _pointed(s.expression, s.error_position or 0),
                    ]
                    for s in invalid
                ],
            )
        )
    else:
        parts.append("Every expression parses.")
    disallowed = [s for s in scores if s.disallowed]
    if disallowed:
        parts += [
            "",
            f"## Constructs not allowed in their context ({len(disallowed)})",
            "",
            markdown_table(
                ["Object", "Type", "Side", "Not allowed"],
                [
                    [
                        _label(s.object_name, s.object_id),
                        s.object_type,
                        s.side,
                        ", ".join(f"`{d}`" for d in s.disallowed),
                    ]
                    for s in disallowed
                ],
            ),
        ]
    missing = dependencies.missing
    parts += ["", f"## Indicators referencing missing objects ({len(missing)})", ""]
    if missing:
        parts.append(
            markdown_table(
                ["Indicator", "Side", "Missing object", "Referenced as"],
                [
                    [_label(m.indicator_name, m.indicator_id), m.side, m.uid, m.kind]
                    for m in missing
                ],
            )
        )
    else:
        parts.append("Every referenced object exists.")
    if files:
        parts += [
            "",
            "## Files",
            "",
            markdown_table(["File", "Path"], list(map(list, files.items()))),
        ]
    return "\n".join(parts) + "\n"


def _object_summary(scores: Sequence[ExpressionScore]) -> str:
    """E.g. `46 indicator sides, 6 validation rule sides`."""
    counts: dict[str, int] = {}
    for s in scores:
        counts[s.object_type] = counts.get(s.object_type, 0) + 1
    return ", ".join(f"{n:,} {kind.replace('_', ' ')} sides" for kind, n in counts.items()) or (
        "none"
    )
