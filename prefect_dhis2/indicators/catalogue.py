"""Indicator expressions as a catalogue: fetch, score, describe and trace dependencies.

The expressions of indicators (numerator, denominator), program indicators
(expression, filter) and validation rules (left and right side) are parsed with
`prefect_dhis2.expressions`, scored for complexity, described with object names
(like DHIS2's `/api/expressions/description`) and checked for constructs their
context does not allow. Indicators are also traced to the data elements and data
sets they depend on, and to the objects they reference that do not exist.

Example:
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

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from prefect import task
from pydantic import BaseModel, ConfigDict, Field

from prefect_dhis2.client.errors import Dhis2NotFoundError, Dhis2PermissionError
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.expressions import (
    ComplexityBins,
    ComplexityLevel,
    DependencyGraph,
    ExpressionContext,
    ExpressionSyntaxError,
    analyze_expression,
    data_set_elements_from_metadata,
    describe_expression_details,
    find_missing_references,
)
from prefect_dhis2.metadata import INDICATOR_FIELDS, fetch_metadata
from prefect_dhis2.runtime import retry_transient_failures, run_logger
from prefect_dhis2.writers import Column

__all__ = [
    "DEPENDENCY_COLUMNS",
    "EXPRESSION_SOURCES",
    "SCORE_COLUMNS",
    "DependencyAnalysis",
    "DependencyRow",
    "ExpressionCatalogue",
    "ExpressionScore",
    "MissingObjectReference",
    "ObjectType",
    "analyze_catalogue_dependencies",
    "analyze_indicator_dependencies",
    "build_catalogue",
    "complexity_distribution",
    "dependency_rows",
    "fetch_expression_catalogue",
    "name_index",
    "score_catalogue",
    "score_expressions",
    "score_rows",
]

ObjectType = Literal["indicator", "program_indicator", "validation_rule"]

PROGRAM_INDICATOR_FIELDS = "id,name,shortName,code,expression,filter,analyticsType,program[id,name]"
VALIDATION_RULE_FIELDS = (
    "id,name,code,importance,operator,periodType,"
    "leftSide[expression,description],rightSide[expression,description]"
)

#: Collection -> (fields, required). Optional collections may be missing (404) or
#: forbidden (403) on an instance; the catalogue is built without them.
EXPRESSION_SOURCES: dict[str, tuple[str, bool]] = {
    "indicators": (INDICATOR_FIELDS, True),
    "programIndicators": (PROGRAM_INDICATOR_FIELDS, False),
    "validationRules": (VALIDATION_RULE_FIELDS, False),
    "dataElements": ("id,name", True),
    "categoryOptionCombos": ("id,name", True),
    "constants": ("id,name", True),
    "dataSets": ("id,name,dataSetElements[dataElement[id]]", True),
    "organisationUnitGroups": ("id,name", False),
    "dataElementGroups": ("id,name", False),
    "categoryOptions": ("id,name", False),
    "categoryOptionGroups": ("id,name", False),
    "programs": ("id,name", False),
    "programStages": ("id,name", False),
    "trackedEntityAttributes": ("id,name", False),
}

# `ReferencedUids` field -> the collection holding such objects (None: not fetched).
_KIND_COLLECTION: dict[str, str | None] = {
    "data_elements": "dataElements",
    "data_element_groups": "dataElementGroups",
    "category_option_combos": "categoryOptionCombos",
    "category_options": "categoryOptions",
    "category_option_groups": "categoryOptionGroups",
    "attribute_option_combos": "categoryOptionCombos",
    "indicators": "indicators",
    "program_indicators": "programIndicators",
    "programs": "programs",
    "program_stages": "programStages",
    "tracked_entity_attributes": "trackedEntityAttributes",
    "constants": "constants",
    "org_unit_groups": "organisationUnitGroups",
    "org_units": None,
    "data_sets": "dataSets",
}

# The expression sides of each object type: (side, how to read it from the object,
# whether the side is optional). An optional side that is blank is skipped.
_SIDES: dict[ObjectType, tuple[tuple[str, tuple[str, ...], bool], ...]] = {
    "indicator": (("numerator", ("numerator",), False), ("denominator", ("denominator",), False)),
    "program_indicator": (("expression", ("expression",), False), ("filter", ("filter",), True)),
    "validation_rule": (
        ("left_side", ("leftSide", "expression"), False),
        ("right_side", ("rightSide", "expression"), False),
    ),
}


# ---------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------


class ExpressionCatalogue(BaseModel):
    """Everything needed to score and trace the expressions of one instance.

    Attributes:
        indicators: Indicator objects (`INDICATOR_FIELDS`).
        program_indicators: Program indicator objects (empty when unavailable).
        validation_rules: Validation rule objects (empty when unavailable).
        names: UID -> name of every fetched object, for descriptions.
        known_uids: UIDs of every fetched object.
        unchecked_kinds: Kinds of reference (`ReferencedUids` field names) whose
            objects could not be listed, so a reference to them is not reported
            as missing (org units always; others when the list was forbidden).
        data_set_elements: Data set UID -> its data element UIDs.
        unavailable: Optional collections the instance did not serve, with why.
    """

    indicators: list[dict[str, Any]] = Field(default_factory=list)
    program_indicators: list[dict[str, Any]] = Field(default_factory=list)
    validation_rules: list[dict[str, Any]] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)
    known_uids: set[str] = Field(default_factory=set)
    unchecked_kinds: set[str] = Field(default_factory=set)
    data_set_elements: dict[str, set[str]] = Field(default_factory=dict)
    unavailable: dict[str, str] = Field(default_factory=dict)


def name_index(metadata: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """UID -> display name (else name) of every object in `metadata`.

    Example:
        >>> name_index({"constants": [{"id": "bWtSzNmVjfv", "name": "Pi"}]})
        {'bWtSzNmVjfv': 'Pi'}
    """
    names: dict[str, str] = {}
    for objects in metadata.values():
        for obj in objects:
            uid, name = obj.get("id"), obj.get("displayName") or obj.get("name")
            if isinstance(uid, str) and isinstance(name, str):
                names[uid] = name
    return names


def build_catalogue(
    metadata: Mapping[str, list[dict[str, Any]]],
    unavailable: Mapping[str, str] | None = None,
    forbidden: Collection[str] = (),
) -> ExpressionCatalogue:
    """Build a catalogue from already-fetched metadata (pure).

    Args:
        metadata: Collection name (`indicators`, `programIndicators`,
            `validationRules`, `dataElements`, ...) -> its objects. A collection
            that is absent counts as empty.
        unavailable: Optional collections the instance did not serve, with why.
        forbidden: Collections that could not be listed (not known to be empty):
            references to their objects are not reported as missing.

    Example:
        >>> c = build_catalogue({"indicators": [{"id": "Uvn6LCg7dVU", "name": "ANC 1",
        ...     "numerator": "#{fbfJHSPpUQD}", "denominator": "1"}]})
        >>> c.names, sorted(c.unchecked_kinds)
        ({'Uvn6LCg7dVU': 'ANC 1'}, ['org_units'])
    """
    blocked = set(forbidden)
    return ExpressionCatalogue(
        indicators=list(metadata.get("indicators", [])),
        program_indicators=list(metadata.get("programIndicators", [])),
        validation_rules=list(metadata.get("validationRules", [])),
        names=name_index(metadata),
        known_uids={
            str(obj["id"]) for objects in metadata.values() for obj in objects if "id" in obj
        },
        unchecked_kinds={
            kind
            for kind, collection in _KIND_COLLECTION.items()
            if collection is None or collection in blocked
        },
        data_set_elements=data_set_elements_from_metadata(metadata.get("dataSets", [])),
        unavailable=dict(unavailable or {}),
    )


@task(
    name="Fetch DHIS2 expression catalogue",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_expression_catalogue(
    credentials: Dhis2Credentials, max_workers: int = 4
) -> ExpressionCatalogue:
    """Fetch indicators, program indicators, validation rules and the names they use.

    Program indicators, validation rules, programs and the group collections are
    read "where present": an instance that answers 404 (or 403) for them still
    gets a catalogue, with the reason in `unavailable`. Indicators, data
    elements, category option combos, constants and data sets are required.

    Args:
        credentials: The DHIS2 instance.
        max_workers: How many collections are fetched at the same time.

    Example:
        ```python
        catalogue = fetch_expression_catalogue(Dhis2Credentials.load("BLOCK_NAME"))
        print(len(catalogue.indicators), catalogue.unavailable)
        ```
    """
    logger = run_logger()
    metadata: dict[str, list[dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}
    forbidden: list[str] = []

    def one(collection: str) -> list[dict[str, Any]]:
        fields, _ = EXPRESSION_SOURCES[collection]
        return fetch_metadata.fn(credentials, collection, fields=fields)

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = {name: pool.submit(one, name) for name in EXPRESSION_SOURCES}
        for collection, future in futures.items():
            required = EXPRESSION_SOURCES[collection][1]
            try:
                metadata[collection] = future.result()
            except (Dhis2NotFoundError, Dhis2PermissionError) as error:
                if required:
                    raise
                metadata[collection] = []
                forbidden_error = isinstance(error, Dhis2PermissionError)
                if forbidden_error:
                    forbidden.append(collection)
                unavailable[collection] = "forbidden (403)" if forbidden_error else "absent (404)"
                logger.info("%s not available on this instance: %s", collection, error)
    catalogue = build_catalogue(metadata, unavailable, forbidden)
    logger.info(
        "Fetched %d indicators, %d program indicators and %d validation rules",
        len(catalogue.indicators),
        len(catalogue.program_indicators),
        len(catalogue.validation_rules),
    )
    return catalogue


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


class ExpressionScore(BaseModel):
    """The analysis of one side of one object's expression.

    Attributes:
        object_type: `indicator`, `program_indicator` or `validation_rule`.
        object_id: The object's UID.
        object_name: Its name.
        side: `numerator`/`denominator`, `expression`/`filter` or
            `left_side`/`right_side`.
        expression: The expression text as stored.
        valid: Whether it parses.
        error_reason: Why it does not parse.
        error_position: 0-based offset of the syntax error.
        simple_score: Operands + arithmetic operators (what regex scripts count).
        complexity_score: See `ExpressionAnalysis.complexity_score`.
        complexity: The bin of `complexity_score` (None when invalid).
        nesting_depth: Parenthesis nesting of the canonical form.
        operand_count: Item occurrences.
        operator_count: Operators of every kind.
        function_count: Function calls, dot functions included.
        item_counts: Occurrences per item kind.
        function_counts: Calls per function.
        operator_counts: Occurrences per operator.
        data_elements: Distinct data element UIDs referenced.
        description: The expression with names in place of UIDs.
        unknown_uids: UIDs that had no name (unknown objects).
        disallowed: Constructs the object's context does not allow.
    """

    model_config = ConfigDict(frozen=True)

    object_type: ObjectType
    object_id: str
    object_name: str | None = None
    side: str
    expression: str
    valid: bool
    error_reason: str | None = None
    error_position: int | None = None
    simple_score: int = 0
    complexity_score: int = 0
    complexity: ComplexityLevel | None = None
    nesting_depth: int = 0
    operand_count: int = 0
    operator_count: int = 0
    function_count: int = 0
    item_counts: dict[str, int] = Field(default_factory=dict)
    function_counts: dict[str, int] = Field(default_factory=dict)
    operator_counts: dict[str, int] = Field(default_factory=dict)
    data_elements: list[str] = Field(default_factory=list)
    description: str | None = None
    unknown_uids: list[str] = Field(default_factory=list)
    disallowed: list[str] = Field(default_factory=list)


def _read(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _sides(
    object_type: ObjectType, objects: Iterable[Mapping[str, Any]]
) -> Iterator[tuple[Mapping[str, Any], str, str]]:
    for obj in objects:
        for side, path, optional in _SIDES[object_type]:
            value = _read(obj, path)
            text = value if isinstance(value, str) else ""
            if optional and not text.strip():
                continue
            yield obj, side, text


def _score_one(
    object_type: ObjectType,
    obj: Mapping[str, Any],
    side: str,
    text: str,
    names: Mapping[str, str],
    bins: ComplexityBins,
) -> ExpressionScore:
    context: ExpressionContext = object_type
    analysis = analyze_expression(text, context, bins=bins)
    base: dict[str, Any] = {
        "object_type": object_type,
        "object_id": str(obj.get("id")),
        "object_name": obj.get("displayName") or obj.get("name"),
        "side": side,
        "expression": text,
    }
    if not analysis.valid:
        assert analysis.error is not None
        return ExpressionScore(
            **base,
            valid=False,
            error_reason=analysis.error.reason,
            error_position=analysis.error.position,
        )
    try:
        details = describe_expression_details(text, names)
        description, unknown = details.description, list(details.unknown_uids)
    except ExpressionSyntaxError:  # pragma: no cover - analysis already parsed it
        description, unknown = None, []
    return ExpressionScore(
        **base,
        valid=True,
        simple_score=analysis.simple_score,
        complexity_score=analysis.complexity_score,
        complexity=analysis.complexity,
        nesting_depth=analysis.nesting_depth,
        operand_count=analysis.operand_count,
        operator_count=sum(analysis.operator_counts.values()),
        function_count=sum(analysis.function_counts.values()),
        item_counts=analysis.item_counts,
        function_counts=analysis.function_counts,
        operator_counts=analysis.operator_counts,
        data_elements=analysis.uids.data_elements,
        description=description,
        unknown_uids=unknown,
        disallowed=analysis.disallowed,
    )


def score_expressions(
    *,
    indicators: Iterable[Mapping[str, Any]] = (),
    program_indicators: Iterable[Mapping[str, Any]] = (),
    validation_rules: Iterable[Mapping[str, Any]] = (),
    names: Mapping[str, str] | None = None,
    bins: ComplexityBins | None = None,
) -> list[ExpressionScore]:
    """Score every expression side of the given objects (pure; never raises on bad text).

    Indicators give a `numerator` and a `denominator` row, program indicators an
    `expression` row and a `filter` row when they have a filter, validation rules
    a `left_side` and a `right_side` row. A missing required side is scored as an
    empty, invalid expression.

    Args:
        indicators: Indicator objects (`id`, `name`, `numerator`, `denominator`).
        program_indicators: Program indicator objects (`expression`, `filter`).
        validation_rules: Validation rule objects (`leftSide.expression`,
            `rightSide.expression`).
        names: UID -> name for descriptions (see `name_index`); defaults to the
            names of the given objects.
        bins: Complexity bins (default `ComplexityBins()`).

    Example:
        >>> scores = score_expressions(
        ...     indicators=[{"id": "Uvn6LCg7dVU", "name": "ANC 1 Coverage",
        ...                  "numerator": "#{fbfJHSPpUQD}", "denominator": "#{h0xKKjijTdI"}],
        ...     names={"fbfJHSPpUQD": "ANC 1st visit"})
        >>> [(s.side, s.valid, s.description) for s in scores]
        [('numerator', True, 'ANC 1st visit'), ('denominator', False, None)]
    """
    chosen_bins = bins or ComplexityBins()
    groups: tuple[tuple[ObjectType, list[Mapping[str, Any]]], ...] = (
        ("indicator", list(indicators)),
        ("program_indicator", list(program_indicators)),
        ("validation_rule", list(validation_rules)),
    )
    if names is None:
        names = name_index({kind: objects for kind, objects in groups})
    return [
        _score_one(object_type, obj, side, text, names, chosen_bins)
        for object_type, objects in groups
        for obj, side, text in _sides(object_type, objects)
    ]


@task(name="Score DHIS2 expressions")
def score_catalogue(
    catalogue: ExpressionCatalogue, bins: ComplexityBins | None = None
) -> list[ExpressionScore]:
    """Score every expression of a catalogue (see `score_expressions`).

    Example:
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


def _counts_text(counts: Mapping[str, int]) -> str | None:
    return ";".join(f"{k}={v}" for k, v in sorted(counts.items())) or None


SCORE_COLUMNS = [
    Column("object_type"),
    Column("object_id"),
    Column("object_name"),
    Column("side"),
    Column("expression"),
    Column("valid", "bool"),
    Column("error_reason"),
    Column("error_position", "int"),
    Column("simple_score", "int"),
    Column("complexity_score", "int"),
    Column("complexity"),
    Column("nesting_depth", "int"),
    Column("operand_count", "int"),
    Column("operator_count", "int"),
    Column("function_count", "int"),
    Column("distinct_data_elements", "int"),
    Column("item_counts"),
    Column("function_counts"),
    Column("operator_counts"),
    Column("data_elements"),
    Column("description"),
    Column("unknown_uids"),
    Column("disallowed"),
]
"""Columns of `indicator_complexity.csv` (one row per expression side)."""


def score_rows(scores: Iterable[ExpressionScore]) -> list[dict[str, Any]]:
    """Flatten scores to rows with the `SCORE_COLUMNS` (lists joined with `;`).

    Counts of an invalid expression are left empty rather than written as zeros.
    """
    rows = []
    for s in scores:
        row: dict[str, Any] = {
            "object_type": s.object_type,
            "object_id": s.object_id,
            "object_name": s.object_name,
            "side": s.side,
            "expression": s.expression,
            "valid": s.valid,
            "error_reason": s.error_reason,
            "error_position": s.error_position,
        }
        if s.valid:
            row.update(
                simple_score=s.simple_score,
                complexity_score=s.complexity_score,
                complexity=s.complexity,
                nesting_depth=s.nesting_depth,
                operand_count=s.operand_count,
                operator_count=s.operator_count,
                function_count=s.function_count,
                distinct_data_elements=len(s.data_elements),
                item_counts=_counts_text(s.item_counts),
                function_counts=_counts_text(s.function_counts),
                operator_counts=_counts_text(s.operator_counts),
                data_elements=";".join(s.data_elements) or None,
                description=s.description,
                unknown_uids=";".join(s.unknown_uids) or None,
                disallowed=";".join(s.disallowed) or None,
            )
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------


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


class DependencyAnalysis(BaseModel):
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
) -> DependencyAnalysis:
    """Trace indicators to data elements and data sets; list missing references (pure).

    Args:
        indicators: Indicator objects (`id`, `name`, `numerator`, `denominator`).
        known_uids: Every UID that exists.
        data_set_elements: Data set UID -> its data element UIDs.
        names: UID -> name (data elements, data sets, indicators).
        unchecked_kinds: Kinds of reference never reported as missing (objects
            that were not listed, such as org units).

    Example:
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
    return DependencyAnalysis(
        rows=rows, missing=missing, data_sets_by_indicator=data_sets_by_indicator
    )


@task(name="Trace DHIS2 indicator dependencies")
def analyze_catalogue_dependencies(catalogue: ExpressionCatalogue) -> DependencyAnalysis:
    """Indicator -> data element -> data set dependencies and missing references.

    Example:
        ```python
        analysis = analyze_catalogue_dependencies(fetch_expression_catalogue(credentials))
        print([(m.indicator_name, m.uid) for m in analysis.missing])
        ```
    """
    return analyze_indicator_dependencies(
        catalogue.indicators,
        known_uids=catalogue.known_uids,
        data_set_elements=catalogue.data_set_elements,
        names=catalogue.names,
        unchecked_kinds=catalogue.unchecked_kinds,
    )


def dependency_rows(analysis: DependencyAnalysis) -> list[dict[str, Any]]:
    """Rows with the `DEPENDENCY_COLUMNS`."""
    return [row.model_dump() for row in analysis.rows]


def complexity_distribution(scores: Iterable[ExpressionScore]) -> dict[str, int]:
    """Count expressions per complexity level, plus `invalid` (every key present).

    Example:
        >>> complexity_distribution([])
        {'trivial': 0, 'simple': 0, 'moderate': 0, 'complex': 0, 'invalid': 0}
    """
    counts = Counter(s.complexity if s.valid else "invalid" for s in scores)
    return {
        key: counts.get(key, 0) for key in ("trivial", "simple", "moderate", "complex", "invalid")
    }
