"""Prefect tasks for indicator expressions: read the catalogue, score it, trace it.

Each task is a thin wrapper around the engine in this package: it takes the
`Dhis2Credentials` block, opens a client, calls the engine and logs what it found.

Examples:
    ```python
    from prefect_dhis2.indicators import (
        analyze_catalogue_dependencies,
        fetch_expression_catalogue,
    )

    catalogue = fetch_expression_catalogue(credentials)  # inside a flow
    missing = analyze_catalogue_dependencies(catalogue).missing
    ```
"""

from __future__ import annotations

from prefect import task

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.expressions import ComplexityBins
from prefect_dhis2.indicators.catalogue import (
    ExpressionCatalogueExtract,
    afetch_expression_catalogue,
)
from prefect_dhis2.indicators.dependencies import (
    IndicatorDependenciesResult,
    analyze_indicator_dependencies,
)
from prefect_dhis2.indicators.scoring import ExpressionScore, score_expressions
from prefect_dhis2.runtime import retry_transient_failures, run_engine, run_logger

__all__ = ["analyze_catalogue_dependencies", "fetch_expression_catalogue", "score_catalogue"]


@task(
    name="Fetch DHIS2 expression catalogue",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_expression_catalogue(
    credentials: Dhis2Credentials, max_workers: int = 4
) -> ExpressionCatalogueExtract:
    """Fetch indicators, program indicators, validation rules and the names they use.

    Program indicators, validation rules, programs and the group collections are
    read "where present": an instance that answers 404 (or 403) for them still
    gets a catalogue, with the reason in `unavailable`. Indicators, data
    elements, category option combos, constants and data sets are required
    (see `afetch_expression_catalogue`).

    Args:
        credentials: The DHIS2 instance.
        max_workers: How many collections are fetched at the same time.

    Examples:
        ```python
        catalogue = fetch_expression_catalogue(Dhis2Credentials.load("BLOCK_NAME"))
        print(len(catalogue.indicators), catalogue.unavailable)
        ```
    """

    catalogue = run_engine(credentials, afetch_expression_catalogue, max_workers=max_workers)
    logger = run_logger()
    for collection, reason in catalogue.unavailable.items():
        logger.info("%s not available on this instance: %s", collection, reason)
    logger.info(
        "Fetched %d indicators, %d program indicators and %d validation rules",
        len(catalogue.indicators),
        len(catalogue.program_indicators),
        len(catalogue.validation_rules),
    )
    return catalogue


@task(name="Score DHIS2 expressions")
def score_catalogue(
    catalogue: ExpressionCatalogueExtract, bins: ComplexityBins | None = None
) -> list[ExpressionScore]:
    """Score every expression of a catalogue (see `score_expressions`).

    Examples:
        ```python
        scores = score_catalogue(fetch_expression_catalogue(credentials))
        ```
    """
    return score_expressions(
        indicators=catalogue.indicators,
        program_indicators=catalogue.program_indicators,
        validation_rules=catalogue.validation_rules,
        names=catalogue.names,
        bins=bins,
    )


@task(name="Trace DHIS2 indicator dependencies")
def analyze_catalogue_dependencies(
    catalogue: ExpressionCatalogueExtract,
) -> IndicatorDependenciesResult:
    """Indicator -> data element -> data set dependencies and missing references.

    Examples:
        ```python
        result = analyze_catalogue_dependencies(fetch_expression_catalogue(credentials))
        print([(m.indicator_name, m.uid) for m in result.missing])
        ```
    """
    return analyze_indicator_dependencies(
        catalogue.indicators,
        known_uids=catalogue.known_uids,
        data_set_elements=catalogue.data_set_elements,
        names=catalogue.names,
        unchecked_kinds=catalogue.unchecked_kinds,
    )
