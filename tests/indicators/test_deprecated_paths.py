"""Old indicator names keep working for one release and say where they live now."""

from __future__ import annotations

import importlib

import pytest

from prefect_dhis2 import indicators

RENAMED = [
    ("prefect_dhis2.indicators", "ExpressionCatalogue", indicators.ExpressionCatalogueExtract),
    ("prefect_dhis2.indicators", "DependencyAnalysis", indicators.IndicatorDependenciesResult),
]

MOVED_OUT_OF_THE_FLOW_MODULE = [
    ("InvalidExpression", indicators.InvalidExpression),
    ("indicator_complexity_markdown", indicators.indicator_complexity_markdown),
]


@pytest.mark.parametrize(("old", "name", "new"), RENAMED)
def test_a_renamed_name_is_served_with_a_warning(old: str, name: str, new: object) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} is deprecated: use "):
        value = getattr(module, name)
    assert value is new
    assert name not in module.__all__


@pytest.mark.parametrize(("name", "new"), MOVED_OUT_OF_THE_FLOW_MODULE)
def test_names_moved_to_the_area_still_import_from_the_flow_module(name: str, new: object):
    # The flow module imports them for its own use, so the old path keeps working.
    module = importlib.import_module("prefect_dhis2.flows.indicator_flows")
    assert getattr(module, name) is new
    assert name not in module.__all__


def test_the_old_module_path_is_the_package_face() -> None:
    from prefect_dhis2.indicators import fetch_expression_catalogue, score_expressions

    assert fetch_expression_catalogue is indicators.tasks.fetch_expression_catalogue
    assert score_expressions is indicators.scoring.score_expressions


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        indicators.no_such_name  # noqa: B018
