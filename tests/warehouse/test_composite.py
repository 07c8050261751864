"""The composite index against rankings computed by hand."""

from __future__ import annotations

import pytest

from prefect_dhis2.warehouse.composite import (
    CompositeComponent,
    CompositeIndexSpec,
    check_composite,
    composite_scores,
)


def test_hand_computed_ranking_with_a_constant_column() -> None:
    spec = CompositeIndexSpec(
        components=[
            CompositeComponent(item="covAAAAAAAA", weight=2),  # higher is better
            CompositeComponent(item="dropAAAAAAA", weight=1, higher_is_better=False),
            CompositeComponent(item="flatAAAAAAA", weight=1),  # the same everywhere
        ]
    )
    values = {
        "unitA": {"covAAAAAAAA": 80.0, "dropAAAAAAA": 10.0, "flatAAAAAAA": 5.0},
        "unitB": {"covAAAAAAAA": 60.0, "dropAAAAAAA": 30.0, "flatAAAAAAA": 5.0},
        "unitC": {"covAAAAAAAA": 40.0, "dropAAAAAAA": 20.0, "flatAAAAAAA": 5.0},
        "unitD": {"covAAAAAAAA": 70.0, "flatAAAAAAA": 5.0},  # no dropout value
    }
    result = composite_scores(spec, values, period="202401")
    # By hand: coverage min 40 max 80 -> A 1, B 0.5, C 0; dropout min 10 max 30,
    # lower is better -> A 1, B 0, C 0.5; the constant column scores 0.5 for all.
    # Scores (weights 2, 1, 1; total 4): A (2+1+0.5)/4 = 0.875, B (1+0+0.5)/4 = 0.375,
    # C (0+0.5+0.5)/4 = 0.25.
    assert [(s.org_unit, s.rank, s.score) for s in result.ranking] == [
        ("unitA", 1, 0.875),
        ("unitB", 2, 0.375),
        ("unitC", 3, 0.25),
    ]
    assert result.constant_components == ["flatAAAAAAA"]
    assert result.units_excluded == 1
    assert result.ranking[2].components["dropAAAAAAA"] == {"value": 20.0, "normalised": 0.5}


def test_equal_scores_share_a_rank() -> None:
    spec = CompositeIndexSpec(components=[CompositeComponent(item="covAAAAAAAA")])
    values = {"a": {"covAAAAAAAA": 1.0}, "b": {"covAAAAAAAA": 1.0}, "c": {"covAAAAAAAA": 0.0}}
    ranking = composite_scores(spec, values).ranking
    assert [(s.org_unit, s.rank) for s in ranking] == [("a", 1), ("b", 1), ("c", 3)]


def test_weights_for_items_not_extracted_are_an_error() -> None:
    spec = CompositeIndexSpec(components=[CompositeComponent(item="Uvn6LCg7dVU")])
    with pytest.raises(ValueError, match="not extracted: Uvn6LCg7dVU"):
        check_composite(spec, ["fbfJHSPpUQD"])


@pytest.mark.parametrize(
    "components",
    [
        [{"item": "a", "weight": 0}],
        [{"item": "a"}, {"item": "a"}],
        [],
    ],
)
def test_bad_specs_are_refused(components: list[dict[str, object]]) -> None:
    with pytest.raises(ValueError):
        CompositeIndexSpec.model_validate({"components": components})
