"""The metadata catalogue: DHIS2's collection names, field selections, flat rows.

Pure: no Prefect. `afetch_metadata` reads any collection with a live
`AsyncDhis2Client`; `flatten_data_element` and `flatten_indicator` turn one
record into one flat row (columns `DATA_ELEMENT_COLUMNS`, `INDICATOR_COLUMNS`).

Examples:
    >>> flatten_indicator({"id": "Uvn6LCg7dVU", "name": "ANC 1 Coverage",
    ...     "indicatorType": {"id": "JkWynlWMjJR", "name": "Per cent", "factor": 100}})["factor"]
    100
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prefect_dhis2.client._core import validate_filter
from prefect_dhis2.writers import Column

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "DATA_ELEMENT_COLUMNS",
    "DATA_ELEMENT_FIELDS",
    "INDICATOR_COLUMNS",
    "INDICATOR_FIELDS",
    "METADATA_TYPES",
    "afetch_metadata",
    "flatten_data_element",
    "flatten_indicator",
    "validate_metadata_type",
]

METADATA_TYPES = frozenset(
    {
        "attributes", "categories", "categoryCombos", "categoryOptionCombos",
        "categoryOptionGroupSets", "categoryOptionGroups", "categoryOptions", "constants",
        "dashboards", "dataApprovalLevels", "dataApprovalWorkflows", "dataElementGroupSets",
        "dataElementGroups", "dataElements", "dataEntryForms", "dataSets", "documents",
        "eventReports", "eventVisualizations", "indicatorGroupSets", "indicatorGroups",
        "indicatorTypes", "indicators", "legendSets", "maps", "optionGroupSets",
        "optionGroups", "optionSets", "options", "organisationUnitGroupSets",
        "organisationUnitGroups", "organisationUnitLevels", "organisationUnits",
        "predictorGroups", "predictors", "programIndicatorGroups", "programIndicators",
        "programRuleVariables", "programRules", "programStages", "programs", "relationshipTypes",
        "reports", "sqlViews", "trackedEntityAttributes", "trackedEntityTypes", "userGroups",
        "userRoles", "users", "validationRuleGroups", "validationRules", "visualizations",
    }
)  # fmt: skip
"""DHIS2 metadata collections (the path segment and JSON key of each list)."""

DATA_ELEMENT_FIELDS = (
    "id,name,shortName,code,valueType,aggregationType,domainType,zeroIsSignificant,"
    "categoryCombo[id,name],dataSetElements[dataSet[id,name]]"
)
INDICATOR_FIELDS = (
    "id,name,shortName,code,numerator,denominator,numeratorDescription,"
    "denominatorDescription,annualized,decimals,indicatorType[id,name,factor]"
)

DATA_ELEMENT_COLUMNS = [
    Column("id"),
    Column("name"),
    Column("short_name"),
    Column("code"),
    Column("value_type"),
    Column("aggregation_type"),
    Column("domain_type"),
    Column("zero_is_significant", "bool"),
    Column("category_combo_id"),
    Column("category_combo_name"),
    Column("data_set_ids"),
    Column("data_set_names"),
]
INDICATOR_COLUMNS = [
    Column("id"),
    Column("name"),
    Column("short_name"),
    Column("code"),
    Column("indicator_type_id"),
    Column("indicator_type_name"),
    Column("factor", "float"),
    Column("annualized", "bool"),
    Column("decimals", "int"),
    Column("numerator"),
    Column("numerator_description"),
    Column("denominator"),
    Column("denominator_description"),
]


def validate_metadata_type(metadata_type: str) -> str:
    """Check a metadata collection name before any request.

    Examples:
        >>> validate_metadata_type("dataElements")
        'dataElements'

    Raises:
        ValueError: For an unknown type, with the closest known names.
    """
    if metadata_type in METADATA_TYPES:
        return metadata_type
    close = difflib.get_close_matches(metadata_type, sorted(METADATA_TYPES), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"Unknown DHIS2 metadata type {metadata_type!r}.{hint}")


async def afetch_metadata(
    client: AsyncDhis2Client,
    metadata_type: str,
    fields: str = "id,name,code",
    filters: Sequence[str] | None = None,
    order: str | None = None,
) -> list[dict[str, Any]]:
    """Fetch every record of a metadata type (pages fetched concurrently).

    The type and the filters are checked before any request.

    Args:
        client: A live async client.
        metadata_type: A collection such as `dataElements` (see `METADATA_TYPES`).
        fields: DHIS2 `fields` selection.
        filters: e.g. `["domainType:eq:AGGREGATE"]`.
        order: e.g. `name:asc`.

    Raises:
        ValueError: For an unknown type or an invalid filter, before any request.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            elements = await afetch_metadata(client, "dataElements", fields=DATA_ELEMENT_FIELDS)
        ```
    """
    validate_metadata_type(metadata_type)
    for expression in filters or ():
        validate_filter(expression)
    return await client.fetch_metadata(metadata_type, fields=fields, filters=filters, order=order)


def _ref(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else None


def _identity(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The columns every flat metadata row starts with."""
    return {
        "id": obj.get("id"),
        "name": obj.get("name"),
        "short_name": obj.get("shortName"),
        "code": obj.get("code"),
    }


def flatten_data_element(data_element: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row for a data element (columns `DATA_ELEMENT_COLUMNS`).

    Fetch with `DATA_ELEMENT_FIELDS` to fill every column.

    Examples:
        >>> row = flatten_data_element({"id": "fbfJHSPpUQD", "name": "ANC 1st visit",
        ...     "categoryCombo": {"id": "KYYSTxeVw28", "name": "Fixed/Outreach"},
        ...     "dataSetElements": [{"dataSet": {"id": "QX4ZTUbOt3a", "name": "Reproductive"}}]})
        >>> row["category_combo_id"], row["data_set_names"]
        ('KYYSTxeVw28', 'Reproductive')
    """
    combo = data_element.get("categoryCombo")
    data_sets = [
        dse.get("dataSet")
        for dse in data_element.get("dataSetElements") or []
        if dse.get("dataSet")
    ]
    return {
        **_identity(data_element),
        "value_type": data_element.get("valueType"),
        "aggregation_type": data_element.get("aggregationType"),
        "domain_type": data_element.get("domainType"),
        "zero_is_significant": data_element.get("zeroIsSignificant"),
        "category_combo_id": _ref(combo, "id"),
        "category_combo_name": _ref(combo, "name"),
        "data_set_ids": ";".join(sorted(str(ds.get("id")) for ds in data_sets)) or None,
        "data_set_names": ";".join(sorted(str(ds.get("name")) for ds in data_sets)) or None,
    }


def flatten_indicator(indicator: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row for an indicator (columns `INDICATOR_COLUMNS`).

    Fetch with `INDICATOR_FIELDS` to fill every column.

    Examples:
        >>> flatten_indicator({"id": "Uvn6LCg7dVU", "numerator": "#{fbfJHSPpUQD}",
        ...     "denominator": "1"})["numerator"]
        '#{fbfJHSPpUQD}'
    """
    kind = indicator.get("indicatorType")
    return {
        **_identity(indicator),
        "indicator_type_id": _ref(kind, "id"),
        "indicator_type_name": _ref(kind, "name"),
        "factor": _ref(kind, "factor"),
        "annualized": indicator.get("annualized"),
        "decimals": indicator.get("decimals"),
        "numerator": indicator.get("numerator"),
        "numerator_description": indicator.get("numeratorDescription"),
        "denominator": indicator.get("denominator"),
        "denominator_description": indicator.get("denominatorDescription"),
    }
