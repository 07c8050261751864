"""Dependencies of indicators: data elements, data sets, other indicators, and
references to objects that do not exist.

Indicators are given as DHIS2 metadata objects (mappings, or objects with
attributes) with ``id``, ``numerator``, ``denominator`` and optionally ``name``
or ``displayName``, as returned by ``/api/indicators?fields=id,name,numerator,denominator``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from prefect_dhis2.expressions.analysis import (
    ExpressionContext,
    ExpressionError,
    ReferencedUids,
    analyze_expression,
    analyze_tree,
)
from prefect_dhis2.expressions.syntax import Expression

__all__ = [
    "DependencyGraph",
    "IndicatorDependencies",
    "MissingReference",
    "data_set_elements_from_metadata",
    "expression_dependencies",
    "find_missing_references",
]

Side = Literal["numerator", "denominator"]
_SIDES: tuple[Side, Side] = ("numerator", "denominator")


def expression_dependencies(
    expression: str | Expression, context: ExpressionContext = "indicator"
) -> ReferencedUids:
    """The UIDs an expression references, by kind of object.

    Raises:
        ExpressionSyntaxError: If `expression` is text that does not parse.

    Examples:
        >>> expression_dependencies("#{fbfJHSPpUQD.pq2XI5kz2BY}/C{bWtSzNmVjfv}").constants
        ['bWtSzNmVjfv']
    """
    if isinstance(expression, str):
        from prefect_dhis2.expressions.parser import parse_expression

        expression = parse_expression(expression)
    return analyze_tree(expression, context, text="").uids


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


@dataclass(frozen=True, slots=True)
class IndicatorDependencies:
    """What one indicator references.

    Attributes:
        indicator: The indicator UID.
        name: Its name, when given.
        uids: Referenced UIDs per side (absent for a side that does not parse).
        errors: Syntax errors per side.
    """

    indicator: str
    name: str | None
    uids: dict[str, ReferencedUids] = field(default_factory=dict)
    errors: dict[str, ExpressionError] = field(default_factory=dict)

    @property
    def data_elements(self) -> frozenset[str]:
        """Data elements referenced directly, numerator and denominator."""
        return frozenset(uid for refs in self.uids.values() for uid in refs.data_elements)

    @property
    def indicators(self) -> frozenset[str]:
        """Other indicators referenced with `N{}`."""
        return frozenset(uid for refs in self.uids.values() for uid in refs.indicators)


def _indicator_dependencies(indicator: Any) -> IndicatorDependencies:
    uid = _get(indicator, "id")
    if not isinstance(uid, str):
        raise TypeError(f"indicator without an 'id': {indicator!r}")
    name = _get(indicator, "displayName") or _get(indicator, "name")
    uids: dict[str, ReferencedUids] = {}
    errors: dict[str, ExpressionError] = {}
    for side in _SIDES:
        text = _get(indicator, side)
        analysis = analyze_expression(text if isinstance(text, str) else "", "indicator")
        if analysis.valid:
            uids[side] = analysis.uids
        else:
            assert analysis.error is not None
            errors[side] = analysis.error
    return IndicatorDependencies(uid, name, uids, errors)


def data_set_elements_from_metadata(data_sets: Iterable[Any]) -> dict[str, set[str]]:
    """Map data set UID -> data element UIDs from DHIS2 data set objects.

    Reads ``dataSetElements[].dataElement.id`` (the shape of
    ``/api/dataSets?fields=id,dataSetElements[dataElement[id]]``).

    Examples:
        >>> data_set_elements_from_metadata(
        ...     [{"id": "QX4ZTUbOt3a", "dataSetElements": [{"dataElement": {"id": "fbfJHSPpUQD"}}]}])
        {'QX4ZTUbOt3a': {'fbfJHSPpUQD'}}
    """
    out: dict[str, set[str]] = {}
    for data_set in data_sets:
        members = out.setdefault(_get(data_set, "id"), set())
        for element in _get(data_set, "dataSetElements") or []:
            data_element = _get(element, "dataElement")
            de_uid = _get(data_element, "id") if data_element is not None else None
            if isinstance(de_uid, str):
                members.add(de_uid)
    return out


class DependencyGraph:
    """Indicator -> data element (-> data set) dependencies.

    Args:
        indicators: Indicator metadata objects.
        data_set_elements: Data set UID -> its data element UIDs (see
            `data_set_elements_from_metadata`); needed for `data_sets_of`.

    Examples:
        >>> graph = DependencyGraph(
        ...     [{"id": "Uvn6LCg7dVU", "numerator": "#{fbfJHSPpUQD}+#{cYeuwXTCPkU}",
        ...       "denominator": "1"},
        ...      {"id": "ReUHfIn0pTQ", "numerator": "N{Uvn6LCg7dVU}", "denominator": "#{h0xKKjijTdI}"}],
        ...     {"QX4ZTUbOt3a": ["fbfJHSPpUQD"], "BfMAe6Itzgt": ["h0xKKjijTdI"]})
        >>> sorted(graph.data_elements_of("ReUHfIn0pTQ"))
        ['cYeuwXTCPkU', 'fbfJHSPpUQD', 'h0xKKjijTdI']
        >>> sorted(graph.data_sets_of("Uvn6LCg7dVU"))
        ['QX4ZTUbOt3a']
        >>> sorted(graph.indicators_using("fbfJHSPpUQD"))
        ['ReUHfIn0pTQ', 'Uvn6LCg7dVU']
    """

    def __init__(
        self,
        indicators: Iterable[Any],
        data_set_elements: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.indicators: dict[str, IndicatorDependencies] = {}
        for indicator in indicators:
            deps = _indicator_dependencies(indicator)
            self.indicators[deps.indicator] = deps
        self.data_sets_by_element: dict[str, set[str]] = {}
        for data_set, elements in (data_set_elements or {}).items():
            for element in elements:
                self.data_sets_by_element.setdefault(element, set()).add(data_set)

    def data_elements_of(self, indicator: str, *, transitive: bool = True) -> set[str]:
        """Data elements an indicator uses; with `transitive`, also through `N{}`."""
        seen: set[str] = set()
        out: set[str] = set()
        pending = [indicator]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.indicators:
                continue
            seen.add(current)
            deps = self.indicators[current]
            out.update(deps.data_elements)
            if transitive:
                pending.extend(deps.indicators)
        return out

    def data_sets_of(self, indicator: str, *, transitive: bool = True) -> set[str]:
        """Data sets that hold at least one of the indicator's data elements."""
        out: set[str] = set()
        for element in self.data_elements_of(indicator, transitive=transitive):
            out.update(self.data_sets_by_element.get(element, ()))
        return out

    def indicators_using(self, data_element: str, *, transitive: bool = True) -> set[str]:
        """Indicators whose value depends on `data_element`."""
        return {
            uid
            for uid in self.indicators
            if data_element in self.data_elements_of(uid, transitive=transitive)
        }

    def edges(self) -> list[tuple[str, str, str]]:
        """All edges as ``(source, target, relation)``, sorted.

        Relations: ``data_element`` (indicator -> data element), ``indicator``
        (indicator -> indicator via `N{}`) and ``data_set`` (data element ->
        data set).
        """
        out: set[tuple[str, str, str]] = set()
        for uid, deps in self.indicators.items():
            for element in deps.data_elements:
                out.add((uid, element, "data_element"))
                for data_set in self.data_sets_by_element.get(element, ()):
                    out.add((element, data_set, "data_set"))
            for other in deps.indicators:
                out.add((uid, other, "indicator"))
        return sorted(out)


@dataclass(frozen=True, slots=True)
class MissingReference:
    """An indicator side that references an unknown object or does not parse.

    Attributes:
        indicator: Indicator UID.
        name: Indicator name, when given.
        side: ``numerator`` or ``denominator``.
        uid: The unknown UID (None for ``invalid_expression``).
        kind: The kind of object the UID was referenced as (a `ReferencedUids`
            field name such as ``data_elements``), or ``invalid_expression``.
        detail: The syntax error for ``invalid_expression``.
    """

    indicator: str
    name: str | None
    side: Side
    uid: str | None
    kind: str
    detail: str = ""


def find_missing_references(
    indicators: Iterable[Any], known_uids: Collection[str]
) -> list[MissingReference]:
    """List indicator references to UIDs that are not in `known_uids`.

    Args:
        indicators: Indicator metadata objects (``id``, ``numerator``,
            ``denominator``, optional ``name``).
        known_uids: Every UID that exists (data elements, category option combos,
            constants, indicators, data sets, ...).

    Returns:
        One entry per (indicator, side, unknown UID), in input order with the
        numerator first; a side that does not parse gives one
        ``invalid_expression`` entry.

    Examples:
        >>> missing = find_missing_references(
        ...     [{"id": "Uvn6LCg7dVU", "numerator": "#{fbfJHSPpUQD}", "denominator": "C{xxxxxxxxxxx}"}],
        ...     {"fbfJHSPpUQD"})
        >>> [(m.side, m.uid, m.kind) for m in missing]
        [('denominator', 'xxxxxxxxxxx', 'constants')]
    """
    known = known_uids if isinstance(known_uids, set | frozenset) else set(known_uids)
    out: list[MissingReference] = []
    for indicator in indicators:
        deps = _indicator_dependencies(indicator)
        for side in _SIDES:
            error = deps.errors.get(side)
            if error is not None:
                out.append(
                    MissingReference(
                        deps.indicator,
                        deps.name,
                        side,
                        None,
                        "invalid_expression",
                        f"{error.reason} (at position {error.position})",
                    )
                )
                continue
            for uid, kind in deps.uids[side].by_uid().items():
                if uid not in known:
                    out.append(MissingReference(deps.indicator, deps.name, side, uid, kind))
    return out
