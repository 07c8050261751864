"""The indicator complexity flow: every expression parsed, scored, described and traced.

Examples:
    ```python
    from prefect_dhis2.flows import dhis2_indicator_complexity

    report = dhis2_indicator_complexity(instance="BLOCK_NAME", output_dir="reports")
    print(report.distribution, report.invalid)
    ```
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.expressions import ComplexityBins
from prefect_dhis2.indicators import (
    IndicatorDependenciesResult,
    InvalidExpression,
    MissingObjectReference,
    analyze_catalogue_dependencies,
    fetch_expression_catalogue,
    indicator_complexity_markdown,
    score_catalogue,
)
from prefect_dhis2.indicators.dependencies import DEPENDENCY_COLUMNS, dependency_rows
from prefect_dhis2.indicators.scoring import (
    SCORE_COLUMNS,
    complexity_distribution,
    resolve_bins,
    score_rows,
)
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, artifact_key, run_logger
from prefect_dhis2.writers import resolve_output_dir, resolve_table_formats, write_table

__all__ = ["IndicatorComplexityReport", "dhis2_indicator_complexity"]


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
        dependencies: The dependency check of the indicators (the rows of
            `indicator_dependencies.csv` and the references to missing objects).
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
    dependencies: IndicatorDependenciesResult
    unavailable: dict[str, str] = {}

    @property
    def missing_references(self) -> list[MissingObjectReference]:
        """Indicator references to objects that do not exist (`dependencies.missing`)."""
        return self.dependencies.missing


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

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_indicator_complexity
        report = dhis2_indicator_complexity(instance="BLOCK_NAME", bins=[2, 10, 25])
        print(report.distribution)
        ```
    """
    watch = Stopwatch()
    chosen_bins = resolve_bins(bins)
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
    invalid = [InvalidExpression.from_score(s) for s in scores if not s.valid]
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
        dependencies=dependencies,
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
        key=artifact_key("dhis2-indicator-complexity"),
        markdown=indicator_complexity_markdown(
            instance=creds.base_url,
            scores=scores,
            dependencies=dependencies,
            bins=chosen_bins,
            top=top,
            unavailable=catalogue.unavailable,
            files=files,
        )
        + "\n\n"
        + report.provenance_markdown(),
        description=(
            f"{report.expressions:,} expressions, {report.invalid} invalid, "
            f"{len(report.missing_references)} missing references"
        ),
    )
    return report
