"""Indicator dependencies: which data elements and data sets an indicator's value
depends on, and which of the objects it references do not exist.

`analyze_indicator_dependencies` is a check: it returns an
`IndicatorDependenciesResult` with one `DependencyRow` per dependency (the rows of
`indicator_dependencies.csv`) and every `MissingObjectReference`.

Examples:
    >>> result = analyze_indicator_dependencies(
    ...     [{"id": "Uvn6LCg7dVU", "numerator": "#{fbfJHSPpUQD}", "denominator": "1"}],
    ...     known_uids={"fbfJHSPpUQD", "Uvn6LCg7dVU"})
    >>> [(row.relation, row.target_id) for row in result.rows], result.missing
    ([('data_element', 'fbfJHSPpUQD')], [])
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prefect_dhis2.expressions import DependencyGraph, find_missing_references
from prefect_dhis2.writers import Column

__all__ = [
    "DEPENDENCY_COLUMNS",
    "DependencyRow",
    "IndicatorDependenciesResult",
    "MissingObjectReference",
    "analyze_indicator_dependencies",
    "dependency_rows",
]


class MissingObjectReference(BaseModel):
    """An indicator side referencing an object that does not exist.

    Attributes:
        indicator_id: The indicator UID.
        indicator_name: Its name.
        side: `numerator` or `denominator`.
        uid: The missing UID.
        kind: What it was referenced as (e.g. `data_elements`, `constants`).
    """

    model_config = ConfigDict(frozen=True)

    indicator_id: str
    indicator_name: str | None = None
    side: str
    uid: str
    kind: str


class DependencyRow(BaseModel):
    """One row of `indicator_dependencies.csv`.

    Attributes:
        indicator_id: The indicator UID.
        indicator_name: Its name.
        relation: `data_element` (the indicator's value depends on it, directly
            or through `N{}`), `indicator` (referenced with `N{}`), `missing`
            (a referenced object that does not exist) or `invalid` (a side that
            does not parse).
        target_id: The data element, indicator or missing UID.
        target_name: Its name, when known.
        target_kind: The kind of object (`ReferencedUids` field name).
        side: For `missing` and `invalid`: the side concerned.
        data_set_ids: For `data_element`: the data sets holding it (`;`-joined).
        data_set_names: Their names.
        detail: `direct` or `through N{}` for data elements; the syntax error
            for `invalid`.
    """

    model_config = ConfigDict(frozen=True)

    indicator_id: str
    indicator_name: str | None = None
    relation: Literal["data_element", "indicator", "missing", "invalid"]
    target_id: str | None = None
    target_name: str | None = None
    target_kind: str | None = None
    side: str | None = None
    data_set_ids: str | None = None
    data_set_names: str | None = None
    detail: str | None = None


class IndicatorDependenciesResult(BaseModel):
    """Indicator dependencies and references to objects that do not exist.

    Attributes:
        rows: Every dependency (see `DependencyRow`).
        missing: References to missing objects (invalid sides excluded).
        data_sets_by_indicator: Indicator UID -> data sets its value depends on.
    """

    rows: list[DependencyRow] = Field(default_factory=list)
    missing: list[MissingObjectReference] = Field(default_factory=list)
    data_sets_by_indicator: dict[str, list[str]] = Field(default_factory=dict)


DEPENDENCY_COLUMNS = [Column(name) for name in DependencyRow.model_fields]
"""Columns of `indicator_dependencies.csv`."""


def analyze_indicator_dependencies(
    indicators: Iterable[Mapping[str, Any]],
    *,
    known_uids: Collection[str],
    data_set_elements: Mapping[str, Iterable[str]] | None = None,
    names: Mapping[str, str] | None = None,
    unchecked_kinds: Collection[str] = ("org_units",),
) -> IndicatorDependenciesResult:
    """Trace indicators to data elements and data sets; list missing references (pure).

    Args:
        indicators: Indicator objects (`id`, `name`, `numerator`, `denominator`).
        known_uids: Every UID that exists.
        data_set_elements: Data set UID -> its data element UIDs.
        names: UID -> name (data elements, data sets, indicators).
        unchecked_kinds: Kinds of reference never reported as missing (objects
            that were not listed, such as org units).

    Examples:
        >>> result = analyze_indicator_dependencies(
        ...     [{"id": "Uvn6LCg7dVU", "numerator": "#{fbfJHSPpUQD}", "denominator": "C{xxxxxxxxxxx}"}],
        ...     known_uids={"fbfJHSPpUQD", "Uvn6LCg7dVU"},
        ...     data_set_elements={"QX4ZTUbOt3a": ["fbfJHSPpUQD"]})
        >>> [(m.side, m.uid, m.kind) for m in result.missing]
        [('denominator', 'xxxxxxxxxxx', 'constants')]
        >>> result.data_sets_by_indicator
        {'Uvn6LCg7dVU': ['QX4ZTUbOt3a']}
    """
    objects = [i for i in indicators if isinstance(i.get("id"), str)]
    label = dict(names or {})
    graph = DependencyGraph(objects, data_set_elements)
    rows: list[DependencyRow] = []
    data_sets_by_indicator: dict[str, list[str]] = {}
    for uid, deps in graph.indicators.items():
        common = {"indicator_id": uid, "indicator_name": deps.name}
        direct = deps.data_elements
        for element in sorted(graph.data_elements_of(uid)):
            data_sets = sorted(graph.data_sets_by_element.get(element, ()))
            rows.append(
                DependencyRow(
                    **common,
                    relation="data_element",
                    target_id=element,
                    target_name=label.get(element),
                    target_kind="data_elements",
                    data_set_ids=";".join(data_sets) or None,
                    data_set_names=";".join(label.get(d, d) for d in data_sets) or None,
                    detail="direct" if element in direct else "through N{}",
                )
            )
        for other in sorted(deps.indicators):
            rows.append(
                DependencyRow(
                    **common,
                    relation="indicator",
                    target_id=other,
                    target_name=label.get(other),
                    target_kind="indicators",
                )
            )
        data_sets_by_indicator[uid] = sorted(graph.data_sets_of(uid))
    skip = set(unchecked_kinds)
    missing: list[MissingObjectReference] = []
    for ref in find_missing_references(objects, known_uids):
        if ref.kind == "invalid_expression":
            rows.append(
                DependencyRow(
                    indicator_id=ref.indicator,
                    indicator_name=ref.name,
                    relation="invalid",
                    side=ref.side,
                    detail=ref.detail,
                )
            )
        elif ref.kind not in skip and ref.uid is not None:
            missing.append(
                MissingObjectReference(
                    indicator_id=ref.indicator,
                    indicator_name=ref.name,
                    side=ref.side,
                    uid=ref.uid,
                    kind=ref.kind,
                )
            )
            rows.append(
                DependencyRow(
                    indicator_id=ref.indicator,
                    indicator_name=ref.name,
                    relation="missing",
                    target_id=ref.uid,
                    target_kind=ref.kind,
                    side=ref.side,
                )
            )
    return IndicatorDependenciesResult(
        rows=rows, missing=missing, data_sets_by_indicator=data_sets_by_indicator
    )


def dependency_rows(analysis: IndicatorDependenciesResult) -> list[dict[str, Any]]:
    """Rows with the `DEPENDENCY_COLUMNS`."""
    return [row.model_dump() for row in analysis.rows]
