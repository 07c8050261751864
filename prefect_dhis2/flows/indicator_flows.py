"""The indicator complexity flow: every expression parsed, scored, described and traced.

Example:
    ```python
    from prefect_dhis2.flows import dhis2_indicator_complexity

    report = dhis2_indicator_complexity(instance="BLOCK_NAME", output_dir="reports")
    print(report.distribution, report.invalid)
    ```
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel

from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.expressions import ComplexityBins
from prefect_dhis2.indicators import (
    DEPENDENCY_COLUMNS,
    SCORE_COLUMNS,
    DependencyAnalysis,
    ExpressionScore,
    MissingObjectReference,
    analyze_catalogue_dependencies,
    complexity_distribution,
    dependency_rows,
    fetch_expression_catalogue,
    score_catalogue,
    score_rows,
)
from prefect_dhis2.markdown import markdown_table
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, run_logger
from prefect_dhis2.writers import resolve_output_dir, resolve_table_formats, write_table

__all__ = [
    "IndicatorComplexityReport",
    "InvalidExpression",
    "dhis2_indicator_complexity",
    "indicator_complexity_markdown",
]

_BAR_WIDTH = 30


class InvalidExpression(BaseModel):
    """An expression that does not parse, and why."""

    object_type: str
    object_id: str
    object_name: str | None = None
    side: str
    expression: str
    reason: str
    position: int


class IndicatorComplexityReport(Dhis2FlowReport):
    """What `dhis2_indicator_complexity` found.

    Attributes:
        expressions: Expression sides analysed (rows of `indicator_complexity.csv`).
        indicators: Indicators read.
        program_indicators: Program indicators read.
        validation_rules: Validation rules read.
        bins: The complexity bin upper bounds used.
        distribution: Expressions per level (`trivial`, `simple`, `moderate`,
            `complex`) and `invalid`; the counts sum to `expressions`.
        invalid: Number of expressions that do not parse.
        invalid_expressions: Each of them, with the reason and position.
        disallowed: Expressions using constructs their context does not allow.
        missing_references: Indicator references to objects that do not exist.
        unavailable: Optional collections the instance did not serve.
    """

    expressions: int
    indicators: int
    program_indicators: int
    validation_rules: int
    bins: dict[str, int]
    distribution: dict[str, int]
    invalid: int
    invalid_expressions: list[InvalidExpression]
    disallowed: int
    missing_references: list[MissingObjectReference]
    unavailable: dict[str, str] = {}


def _resolve_bins(bins: ComplexityBins | Sequence[int] | None) -> ComplexityBins:
    if bins is None:
        return ComplexityBins()
    if isinstance(bins, ComplexityBins):
        return bins
    limits = list(bins)
    if len(limits) != 3:
        raise ValueError(
            f"bins must be three upper bounds [trivial_max, simple_max, moderate_max], got {limits}"
        )
    return ComplexityBins(*limits)


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
    dependencies: DependencyAnalysis,
    bins: ComplexityBins,
    top: int = 10,
    unavailable: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> str:
    """The markdown report: distribution, most complex, every invalid expression,
    disallowed constructs and references to missing objects.

    Example:
        >>> from prefect_dhis2.indicators import score_expressions
        >>> scores = score_expressions(indicators=[{"id": "Uvn6LCg7dVU",
        ...     "numerator": "#{fbfJHSPpUQD}", "denominator": "1"}])
        >>> md = indicator_complexity_markdown(instance="https://play.im.dhis2.org/dev",
        ...     scores=scores, dependencies=DependencyAnalysis(), bins=ComplexityBins())
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


@flow(name="dhis2-indicator-complexity", log_prints=False)
def dhis2_indicator_complexity(
    credentials: Dhis2Credentials | None = None,
    instance: str = "dhis2",
    output_dir: str | None = None,
    bins: ComplexityBins | list[int] | None = None,
    formats: list[str] | None = None,
    top: int = 10,
) -> IndicatorComplexityReport:
    """Parse, score and describe every indicator expression, and trace dependencies.

    Reads indicators, and program indicators and validation rules where the
    instance has them; writes `indicator_complexity.csv` (one row per expression
    side; also `.parquet` when pyarrow is installed) and
    `indicator_dependencies.csv` (indicator -> data element -> data set, and
    references to missing objects); publishes a markdown report with the
    complexity distribution, the most complex expressions with their
    descriptions, every invalid expression with its reason and position, and the
    indicators referencing missing objects.

    Args:
        credentials: The instance (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.
        output_dir: Where to write (a new temporary directory when None).
        bins: Complexity bins: a `ComplexityBins` or three upper bounds
            `[trivial_max, simple_max, moderate_max]` (default `[1, 8, 20]`).
        formats: Table formats for the complexity table, default
            `["csv", "parquet"]` (CSV only without pyarrow).
        top: How many of the most complex expressions the report lists.

    Example:
        ```python
        from prefect_dhis2.flows import dhis2_indicator_complexity
        report = dhis2_indicator_complexity(instance="BLOCK_NAME", bins=[2, 10, 25])
        print(report.distribution)
        ```
    """
    watch = Stopwatch()
    chosen_bins = _resolve_bins(bins)
    table_formats = resolve_table_formats(formats)
    if top < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    directory = resolve_output_dir(output_dir, "dhis2-indicator-complexity")
    creds = resolve_credentials(credentials, instance)
    logger = run_logger()

    catalogue = fetch_expression_catalogue(creds)
    scores = score_catalogue(catalogue, chosen_bins)
    dependencies = analyze_catalogue_dependencies(catalogue)

    files: dict[str, str] = {}
    rows = score_rows(scores)
    for fmt in table_formats:
        path = directory / f"indicator_complexity.{fmt}"
        write_table(path, SCORE_COLUMNS, rows)
        files[f"indicator_complexity_{fmt}"] = str(path)
    dep_path = directory / "indicator_dependencies.csv"
    write_table(dep_path, DEPENDENCY_COLUMNS, dependency_rows(dependencies))
    files["indicator_dependencies_csv"] = str(dep_path)

    distribution = complexity_distribution(scores)
    invalid = [
        InvalidExpression(
            object_type=s.object_type,
            object_id=s.object_id,
            object_name=s.object_name,
            side=s.side,
            expression=s.expression,
            reason=s.error_reason or "",
            position=s.error_position or 0,
        )
        for s in scores
        if not s.valid
    ]
    report = IndicatorComplexityReport(
        instance=creds.base_url,
        output_dir=str(directory),
        files=files,
        expressions=len(scores),
        indicators=len(catalogue.indicators),
        program_indicators=len(catalogue.program_indicators),
        validation_rules=len(catalogue.validation_rules),
        bins={
            "trivial_max": chosen_bins.trivial_max,
            "simple_max": chosen_bins.simple_max,
            "moderate_max": chosen_bins.moderate_max,
        },
        distribution=distribution,
        invalid=len(invalid),
        invalid_expressions=invalid,
        disallowed=sum(1 for s in scores if s.disallowed),
        missing_references=dependencies.missing,
        unavailable=catalogue.unavailable,
        duration_s=watch.elapsed,
    )
    logger.info(
        "Analysed %d expressions: %s; %d invalid, %d references to missing objects",
        report.expressions,
        ", ".join(f"{k} {v}" for k, v in distribution.items() if k != "invalid"),
        report.invalid,
        len(report.missing_references),
    )
    create_markdown_artifact(
        key="dhis2-indicator-complexity",
        markdown=indicator_complexity_markdown(
            instance=creds.base_url,
            scores=scores,
            dependencies=dependencies,
            bins=chosen_bins,
            top=top,
            unavailable=catalogue.unavailable,
            files=files,
        ),
        description=(
            f"{report.expressions:,} expressions, {report.invalid} invalid, "
            f"{len(report.missing_references)} missing references"
        ),
    )
    return report
