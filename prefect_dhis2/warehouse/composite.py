"""The composite index: min-max normalised indicators, weighted, ranked.

Pure: no Prefect. The classic health-profile ranking: for each component (a data item
of the extraction) the values of the org units at one level in one period are
normalised to 0..1 by min-max (`1 - x` when lower is better), the weighted mean of the
normalised values is each unit's score, and units are ranked by score (1 = best; ties
share a rank). A component whose values are all equal (max = min) carries no
information: every unit gets 0.5 for it (no division by zero), and the result lists it
in `constant_components`. Units missing a component's value are not ranked and are
counted in `units_excluded`.

Examples:
    >>> spec = CompositeIndexSpec(components=[
    ...     CompositeComponent(item="Uvn6LCg7dVU", weight=2),
    ...     CompositeComponent(item="ReUHfIn0pTQ", higher_is_better=False)])
    >>> scores = composite_scores(spec, {"A": {"Uvn6LCg7dVU": 90.0, "ReUHfIn0pTQ": 10.0},
    ...     "B": {"Uvn6LCg7dVU": 60.0, "ReUHfIn0pTQ": 40.0}})
    >>> [(s.org_unit, s.rank, s.score) for s in scores.ranking]
    [('A', 1, 1.0), ('B', 2, 0.0)]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, field_validator, model_validator

if TYPE_CHECKING:
    from prefect_dhis2.warehouse.backend import WarehouseBackend

__all__ = [
    "DEFAULT_COMPOSITE",
    "CompositeComponent",
    "CompositeIndexResult",
    "CompositeIndexSpec",
    "CompositeScore",
    "check_composite",
    "composite_scores",
    "load_composite_index",
]


class CompositeComponent(BaseModel):
    """One component of the index.

    Attributes:
        item: The data item (a dx of the extraction).
        weight: Its weight (> 0); weights are relative.
        higher_is_better: False for rates where less is better (dropout, mortality).
    """

    item: str
    weight: float = 1.0
    higher_is_better: bool = True

    @field_validator("weight")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"A component weight must be above 0, not {value}")
        return value


class CompositeIndexSpec(BaseModel):
    """What the index ranks.

    Attributes:
        components: The components (each item once).
        level: The org unit level ranked (2 = districts on Sierra Leone).
        period: The ISO period ranked; None = the latest period of the extraction
            that has values.
        top: How many of the best units the report shows.
    """

    components: list[CompositeComponent] = Field(min_length=1)
    level: int = 2
    period: str | None = None
    top: int = 10

    @model_validator(mode="after")
    def _unique(self) -> CompositeIndexSpec:
        items = [c.item for c in self.components]
        repeated = sorted({i for i in items if items.count(i) > 1})
        if repeated:
            raise ValueError(f"Composite components repeat {', '.join(repeated)}")
        if self.level < 1:
            raise ValueError(f"The composite level must be 1 or more, not {self.level}")
        return self


DEFAULT_COMPOSITE = CompositeIndexSpec(
    components=[
        CompositeComponent(item="Uvn6LCg7dVU"),  # ANC 1 Coverage
        CompositeComponent(item="OdiHJayrsKo"),  # ANC 2 Coverage
        CompositeComponent(item="sB79w2hiLp8"),  # ANC 3 Coverage
        CompositeComponent(item="ReUHfIn0pTQ", higher_is_better=False),  # ANC 1-3 dropout
        CompositeComponent(item="FbKK4ofIv5R"),  # Measles Coverage <1y
    ],
    level=2,
)
"""The maternal and child health profile of districts: three ANC coverages and measles
coverage (higher is better) and the ANC 1-3 dropout rate (lower is better)."""


def check_composite(spec: CompositeIndexSpec, data_items: Sequence[str]) -> None:
    """Check, before any request, that every component is a data item of the extraction.

    Raises:
        ValueError: Naming the components that are not extracted.

    Examples:
        >>> check_composite(DEFAULT_COMPOSITE, ["Uvn6LCg7dVU"])
        Traceback (most recent call last):
        ...
        ValueError: Composite index weights name data items that are not extracted: OdiHJayrsKo, sB79w2hiLp8, ReUHfIn0pTQ, FbKK4ofIv5R; add them to data_items or drop them from the index.
    """
    missing = [c.item for c in spec.components if c.item not in set(data_items)]
    if missing:
        raise ValueError(
            "Composite index weights name data items that are not extracted: "
            f"{', '.join(missing)}; add them to data_items or drop them from the index."
        )


class CompositeScore(BaseModel):
    """One ranked org unit.

    Attributes:
        org_unit: The unit's UID.
        name: Its name (when known).
        score: Weighted mean of the normalised components, 0..1.
        rank: 1 = best; equal scores share a rank.
        components: Item to `{"value": raw, "normalised": 0..1}`.
    """

    org_unit: str
    name: str | None = None
    score: float
    rank: int
    components: dict[str, dict[str, float]]


class CompositeIndexResult(BaseModel):
    """The index of one refresh.

    Attributes:
        level: The org unit level ranked.
        period: The ISO period ranked.
        ranking: Every ranked unit, best first.
        constant_components: Components whose values were all equal (each unit got 0.5).
        units_excluded: Units at the level with no value for some component.
    """

    level: int
    period: str | None
    ranking: list[CompositeScore]
    constant_components: list[str] = Field(default_factory=list)
    units_excluded: int = 0

    def top(self, n: int) -> list[CompositeScore]:
        """The `n` best units."""
        return self.ranking[:n]


def composite_scores(
    spec: CompositeIndexSpec,
    values: Mapping[str, Mapping[str, float | None]],
    *,
    period: str | None = None,
    names: Mapping[str, str] | None = None,
) -> CompositeIndexResult:
    """Score and rank org units from their component values.

    Args:
        spec: The components, weights and direction.
        values: Org unit UID to item to value (missing or None = no value).
        period: The period the values are of (recorded in the result).
        names: Org unit names for the ranking.
    """
    items = [c.item for c in spec.components]
    complete = {
        ou: {i: float(v[i]) for i in items}  # type: ignore[arg-type]
        for ou, v in values.items()
        if all(v.get(i) is not None for i in items)
    }
    bounds: dict[str, tuple[float, float]] = {}
    for item in items:
        column = [v[item] for v in complete.values()]
        bounds[item] = (min(column), max(column)) if column else (0.0, 0.0)
    constant = [i for i in items if complete and bounds[i][0] == bounds[i][1]]
    total_weight = sum(c.weight for c in spec.components)
    scored: list[tuple[float, str, dict[str, dict[str, float]]]] = []
    for ou, row in complete.items():
        parts: dict[str, dict[str, float]] = {}
        score = 0.0
        for component in spec.components:
            low, high = bounds[component.item]
            raw = row[component.item]
            if high == low:
                normalised = 0.5
            else:
                normalised = (raw - low) / (high - low)
                if not component.higher_is_better:
                    normalised = 1.0 - normalised
            parts[component.item] = {"value": raw, "normalised": round(normalised, 12)}
            score += component.weight * normalised
        scored.append((round(score / total_weight, 12), ou, parts))
    scored.sort(key=lambda s: (-s[0], s[1]))
    ranking: list[CompositeScore] = []
    for position, (score, ou, parts) in enumerate(scored, start=1):
        rank = ranking[-1].rank if ranking and ranking[-1].score == score else position
        ranking.append(
            CompositeScore(
                org_unit=ou, name=(names or {}).get(ou), score=score, rank=rank, components=parts
            )
        )
    return CompositeIndexResult(
        level=spec.level,
        period=period,
        ranking=ranking,
        constant_components=constant,
        units_excluded=len(values) - len(complete),
    )


def load_composite_index(
    backend: WarehouseBackend, spec: CompositeIndexSpec, periods: Sequence[str]
) -> CompositeIndexResult:
    """Compute the index from the warehouse's facts and store it in `composite_index`.

    Values of a component are summed over category option combos (the total). The
    period is `spec.period`, or the latest of `periods` with values at the level.
    """
    items = [c.item for c in spec.components]
    period = spec.period
    if period is None:
        found = backend.rows(
            "SELECT p.iso FROM fact_analytics f JOIN dim_period p USING (period_key) "
            "JOIN dim_org_unit o USING (org_unit_key) JOIN dim_data d USING (data_key) "
            "WHERE o.level = ? AND list_contains(?, p.iso) AND list_contains(?, d.uid) "
            "GROUP BY p.iso, p.end_date ORDER BY p.end_date DESC, p.iso DESC LIMIT 1",
            [spec.level, list(periods), items],
        )
        period = found[0][0] if found else None
    rows: list[tuple[Any, ...]] = []
    if period is not None:
        rows = backend.rows(
            "SELECT o.uid, o.name, d.uid, sum(f.value) FROM dim_org_unit o "
            "LEFT JOIN fact_analytics f ON f.org_unit_key = o.org_unit_key "
            "AND f.period_key = (SELECT period_key FROM dim_period WHERE iso = ?) "
            "AND f.data_key IN (SELECT data_key FROM dim_data WHERE list_contains(?, uid)) "
            "LEFT JOIN dim_data d ON d.data_key = f.data_key "
            "WHERE o.level = ? GROUP BY o.uid, o.name, d.uid",
            [period, items, spec.level],
        )
    values: dict[str, dict[str, float | None]] = {}
    names: dict[str, str] = {}
    for ou, name, item, value in rows:
        values.setdefault(ou, {})
        names[ou] = name
        if item is not None:
            values[ou][item] = value
    result = composite_scores(spec, values, period=period, names=names)
    if period is not None:
        backend.execute(
            "DELETE FROM composite_index WHERE period_key = "
            "(SELECT period_key FROM dim_period WHERE iso = ?)",
            [period],
        )
        if result.ranking:
            # One insert of every row (an Arrow table joined to the dimensions).
            backend.insert_composite(
                period,
                [s.org_unit for s in result.ranking],
                [s.score for s in result.ranking],
                [s.rank for s in result.ranking],
                [json.dumps(s.components, sort_keys=True) for s in result.ranking],
            )
    return result
