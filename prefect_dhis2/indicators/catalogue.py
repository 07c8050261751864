"""The expression catalogue: which objects carry expressions, and reading them from DHIS2.

Indicators (numerator, denominator), program indicators (expression, filter) and
validation rules (left and right side) are read together with every collection whose
names their expressions use, so the expressions can be described and their references
checked. `build_catalogue` makes a catalogue from metadata already in hand;
`afetch_expression_catalogue` reads one from a live `AsyncDhis2Client`.

Examples:
    ```python
    from prefect_dhis2.client import AsyncDhis2Client, ClientSettings
    from prefect_dhis2.indicators import afetch_expression_catalogue

    async def count_expressions(settings: ClientSettings) -> int:
        async with AsyncDhis2Client(settings) as client:
            catalogue = await afetch_expression_catalogue(client)
        return len(catalogue.indicators)
    ```
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.client.errors import Dhis2NotFoundError, Dhis2PermissionError
from prefect_dhis2.expressions import data_set_elements_from_metadata
from prefect_dhis2.metadata.catalogue import INDICATOR_FIELDS

__all__ = [
    "EXPRESSION_SOURCES",
    "ExpressionCatalogueExtract",
    "ObjectType",
    "afetch_expression_catalogue",
    "build_catalogue",
    "name_index",
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
EXPRESSION_SIDES: dict[ObjectType, tuple[tuple[str, tuple[str, ...], bool], ...]] = {
    "indicator": (("numerator", ("numerator",), False), ("denominator", ("denominator",), False)),
    "program_indicator": (("expression", ("expression",), False), ("filter", ("filter",), True)),
    "validation_rule": (
        ("left_side", ("leftSide", "expression"), False),
        ("right_side", ("rightSide", "expression"), False),
    ),
}


def _read(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def expression_sides(
    object_type: ObjectType, objects: Iterable[Mapping[str, Any]]
) -> Iterator[tuple[Mapping[str, Any], str, str]]:
    """Each (object, side, expression text) of `objects`; blank optional sides skipped.

    Examples:
        >>> [(side, text) for _, side, text in expression_sides(
        ...     "program_indicator", [{"id": "p", "expression": "V{event_count}", "filter": " "}])]
        [('expression', 'V{event_count}')]
    """
    for obj in objects:
        for side, path, optional in EXPRESSION_SIDES[object_type]:
            value = _read(obj, path)
            text = value if isinstance(value, str) else ""
            if optional and not text.strip():
                continue
            yield obj, side, text


class ExpressionCatalogueExtract(BaseModel):
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

    Examples:
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
) -> ExpressionCatalogueExtract:
    """Build a catalogue from already-fetched metadata (pure).

    Args:
        metadata: Collection name (`indicators`, `programIndicators`,
            `validationRules`, `dataElements`, ...) -> its objects. A collection
            that is absent counts as empty.
        unavailable: Optional collections the instance did not serve, with why.
        forbidden: Collections that could not be listed (not known to be empty):
            references to their objects are not reported as missing.

    Examples:
        >>> c = build_catalogue({"indicators": [{"id": "Uvn6LCg7dVU", "name": "ANC 1",
        ...     "numerator": "#{fbfJHSPpUQD}", "denominator": "1"}]})
        >>> c.names, sorted(c.unchecked_kinds)
        ({'Uvn6LCg7dVU': 'ANC 1'}, ['org_units'])
    """
    blocked = set(forbidden)
    return ExpressionCatalogueExtract(
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


async def afetch_expression_catalogue(
    client: AsyncDhis2Client, *, max_workers: int = 4
) -> ExpressionCatalogueExtract:
    """Read indicators, program indicators, validation rules and the names they use.

    Program indicators, validation rules, programs and the group collections are
    read "where present": an instance that answers 404 (or 403) for them still
    gets a catalogue, with the reason in `unavailable`. Indicators, data
    elements, category option combos, constants and data sets are required.

    Args:
        client: A live client for the DHIS2 instance.
        max_workers: How many collections are read at the same time.

    Raises:
        Dhis2NotFoundError: A required collection is absent.
        Dhis2PermissionError: A required collection is forbidden.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            catalogue = await afetch_expression_catalogue(client)
        print(len(catalogue.indicators), catalogue.unavailable)
        ```
    """
    gate = asyncio.Semaphore(max(1, max_workers))

    async def one(collection: str) -> list[dict[str, Any]]:
        fields, _ = EXPRESSION_SOURCES[collection]
        async with gate:
            return await client.fetch_metadata(collection, fields=fields)

    answers = await asyncio.gather(
        *(one(name) for name in EXPRESSION_SOURCES), return_exceptions=True
    )
    metadata: dict[str, list[dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}
    forbidden: list[str] = []
    for (collection, (_, required)), answer in zip(
        EXPRESSION_SOURCES.items(), answers, strict=True
    ):
        if not isinstance(answer, BaseException):
            metadata[collection] = answer
            continue
        if required or not isinstance(answer, Dhis2NotFoundError | Dhis2PermissionError):
            raise answer
        metadata[collection] = []
        if isinstance(answer, Dhis2PermissionError):
            forbidden.append(collection)
            unavailable[collection] = "forbidden (403)"
        else:
            unavailable[collection] = "absent (404)"
    return build_catalogue(metadata, unavailable, forbidden)
