"""Indicator expressions as a catalogue: fetch, score, describe and trace dependencies.

The expressions of indicators (numerator, denominator), program indicators
(expression, filter) and validation rules (left and right side) are parsed with
`prefect_dhis2.expressions`, scored for complexity, described with object names
(like DHIS2's `/api/expressions/description`) and checked for constructs their
context does not allow. Indicators are also traced to the data elements and data
sets they depend on, and to the objects they reference that do not exist.

Where the logic for each part lives (every module but `tasks` runs without Prefect):

- `catalogue`: which collections and expression sides are read, the
  `ExpressionCatalogueExtract`, `build_catalogue` from metadata in hand and
  `afetch_expression_catalogue` from a live `AsyncDhis2Client`.
- `scoring`: `ExpressionScore`, `score_expressions`, the complexity distribution and
  the rows of `indicator_complexity.csv`.
- `dependencies`: `analyze_indicator_dependencies` (indicator -> data element -> data
  set, missing references) and the rows of `indicator_dependencies.csv`.
- `report`: the markdown report and `InvalidExpression`.
- `tasks`: the Prefect tasks `fetch_expression_catalogue`, `score_catalogue` and
  `analyze_catalogue_dependencies`, taking a `Dhis2Credentials` block.

Examples:
    >>> scores = score_expressions(indicators=[{"id": "Uvn6LCg7dVU", "name": "ANC 1",
    ...     "numerator": "#{fbfJHSPpUQD}", "denominator": "1"}])
    >>> from prefect_dhis2.indicators.scoring import complexity_distribution
    >>> complexity_distribution(scores)
    {'trivial': 2, 'simple': 0, 'moderate': 0, 'complex': 0, 'invalid': 0}

    In a flow, with the tasks:

    ```python
    from prefect import flow
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.indicators import fetch_expression_catalogue, score_catalogue

    @flow
    def most_complex_indicators():
        catalogue = fetch_expression_catalogue(Dhis2Credentials.load("BLOCK_NAME"))
        scores = score_catalogue(catalogue)
        return sorted(scores, key=lambda s: -s.complexity_score)[:10]
    ```
"""

from prefect_dhis2._deprecation import deprecated_names as _deprecated_names
from prefect_dhis2.indicators.catalogue import (
    ExpressionCatalogueExtract,
    afetch_expression_catalogue,
)
from prefect_dhis2.indicators.dependencies import (
    IndicatorDependenciesResult,
    MissingObjectReference,
    analyze_indicator_dependencies,
)
from prefect_dhis2.indicators.report import InvalidExpression, indicator_complexity_markdown
from prefect_dhis2.indicators.scoring import ExpressionScore, score_expressions
from prefect_dhis2.indicators.tasks import (
    analyze_catalogue_dependencies,
    fetch_expression_catalogue,
    score_catalogue,
)

__all__ = [
    "ExpressionCatalogueExtract",
    "ExpressionScore",
    "IndicatorDependenciesResult",
    "InvalidExpression",
    "MissingObjectReference",
    "afetch_expression_catalogue",
    "analyze_catalogue_dependencies",
    "analyze_indicator_dependencies",
    "fetch_expression_catalogue",
    "indicator_complexity_markdown",
    "score_catalogue",
    "score_expressions",
]

__getattr__ = _deprecated_names(
    __name__,
    {
        "ExpressionCatalogue": "prefect_dhis2.indicators.catalogue:ExpressionCatalogueExtract",
        "DependencyAnalysis": "prefect_dhis2.indicators.dependencies:IndicatorDependenciesResult",
        "DEPENDENCY_COLUMNS": "prefect_dhis2.indicators.dependencies",
        "DependencyRow": "prefect_dhis2.indicators.dependencies",
        "EXPRESSION_SOURCES": "prefect_dhis2.indicators.catalogue",
        "ObjectType": "prefect_dhis2.indicators.catalogue",
        "SCORE_COLUMNS": "prefect_dhis2.indicators.scoring",
        "build_catalogue": "prefect_dhis2.indicators.catalogue",
        "complexity_distribution": "prefect_dhis2.indicators.scoring",
        "dependency_rows": "prefect_dhis2.indicators.dependencies",
        "name_index": "prefect_dhis2.indicators.catalogue",
        "score_rows": "prefect_dhis2.indicators.scoring",
    },
)
