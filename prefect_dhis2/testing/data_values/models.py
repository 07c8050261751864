"""Data values of the DHIS2 emulator: reading and importing data value sets.

Reading (`read_data_values`) returns the values of data sets / data elements / data element
groups for periods (or a date range) and org units (optionally with their children, or an
org unit group), the way DHIS2 renders them; an incomplete query raises `DataValuesError`
(E2001 ... E2006). Importing (`import_data_value_set`) follows DHIS2's semantics: each value
is imported, updated, ignored (unchanged value, comment and follow-up), deleted, or rejected
with a conflict (E76xx codes, `indexes`, `rejectedIndexes`); `dry_run` writes nothing. The
values themselves live in `data_values.store`.

Example:
    >>> from prefect_dhis2.testing.core.state import EmulatorConfig, EmulatorState
    >>> state = EmulatorState(EmulatorConfig(org_units=60))
    >>> facility = state.dataset.facility_ids[0]
    >>> summary = import_data_value_set(state, {"dataValues": [
    ...     {"dataElement": "fbfJHSPpUQD", "period": "202401", "orgUnit": facility,
    ...      "categoryOptionCombo": "pq2XI5kz2BY", "value": "12"}]})
    >>> summary["status"], summary["importCount"]["updated"]
    ('SUCCESS', 1)
    >>> body, rows = read_data_values(state, DataValuesQuery(
    ...     data_elements=["fbfJHSPpUQD"], periods=["202401"], org_units=[facility]))
    >>> [v["value"] for v in body["dataValues"] if v["categoryOptionCombo"] == "pq2XI5kz2BY"]
    ['12']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from prefect_dhis2.testing.core.import_envelopes import IMPORT_OPTIONS_DEFAULTS
from prefect_dhis2.testing.core.periods import parse_period
from prefect_dhis2.testing.core.state import EmulatorState
from prefect_dhis2.testing.core.timestamps import format_timestamp
from prefect_dhis2.testing.data_values.store import (
    DEFAULT_ATTRIBUTE_OPTION_COMBO,
    DataValueKey,
    DataValueRecord,
)

__all__ = [
    "IMPORT_STRATEGIES",
    "DataValuesError",
    "DataValuesQuery",
    "assert_zero_insignificant",
    "import_data_value_set",
    "read_data_values",
    "validate_value",
]

_INTEGER = re.compile(r"^(-?[1-9]\d*|0)$")
IMPORT_STRATEGIES = frozenset({"CREATE_AND_UPDATE", "CREATE", "UPDATE", "DELETE"})


# ----------------------------------------------------------------------------------- reading


class DataValuesError(Exception):
    """A data value read DHIS2 refuses (409), with its error code.

    Args:
        code: DHIS2's error code, e.g. `E2001`.
        message: DHIS2's message.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DataValuesQuery:
    """What a `GET /api/dataValueSets` asks for (DHIS2's parameter names in snake case).

    Attributes:
        data_sets: `dataSet` UIDs.
        data_elements: `dataElement` UIDs.
        data_element_groups: `dataElementGroup` UIDs.
        periods: `period` identifiers.
        start_date: `startDate` (ISO date), with `end_date` instead of periods.
        end_date: `endDate` (ISO date).
        last_updated: `lastUpdated`: only values updated at or after this timestamp.
        org_units: `orgUnit` UIDs.
        org_unit_groups: `orgUnitGroup` UIDs.
        children: `children=true`: also every unit below the org units.
        include_deleted: `includeDeleted=true`: also soft-deleted values.
        limit: `limit`: at most this many values.
    """

    data_sets: Sequence[str] = ()
    data_elements: Sequence[str] = ()
    data_element_groups: Sequence[str] = ()
    periods: Sequence[str] = ()
    start_date: str | None = None
    end_date: str | None = None
    last_updated: str | None = None
    org_units: Sequence[str] = ()
    org_unit_groups: Sequence[str] = ()
    children: bool = False
    include_deleted: bool = False
    limit: int | None = None


def _expand_org_units(state: EmulatorState, query: DataValuesQuery) -> list[str]:
    dataset = state.dataset
    units: list[str] = []
    children = query.children
    for uid in query.org_units:
        if state.data_values.position(uid) is None:
            continue
        units.append(uid)
        if children:
            units.extend(dataset.descendants(uid))
    groups: Any = state.dataset.objects.get("organisationUnitGroups", {})
    for gid in query.org_unit_groups:
        group = groups.get(gid)
        units.extend(ref["id"] for ref in (group or {}).get("organisationUnits", []))
    return list(dict.fromkeys(units))


def _data_elements(state: EmulatorState, query: DataValuesQuery) -> list[str]:
    objects = state.dataset.objects
    out: list[str] = []
    data_sets: Any = objects.get("dataSets", {})
    groups: Any = objects.get("dataElementGroups", {})
    for ds_id in query.data_sets:
        data_set = data_sets.get(ds_id)
        for ref in (data_set or {}).get("dataSetElements", []):
            out.append(ref["dataElement"]["id"])
    for group_id in query.data_element_groups:
        group = groups.get(group_id)
        out.extend(ref["id"] for ref in (group or {}).get("dataElements", []))
    elements: Any = objects.get("dataElements", {})
    out.extend(de for de in query.data_elements if de in elements)
    return list(dict.fromkeys(out))


def _periods_between(state: EmulatorState, start: date, end: date) -> list[str]:
    store = state.data_values
    out: list[str] = []
    for period_id in [*store.years, *store.months]:
        period = parse_period(period_id)
        if period.start_date >= start and period.end_date <= end:
            out.append(period_id)
    for key in list(store.overlay):
        try:
            period = parse_period(key[1])
        except ValueError:
            continue
        if period.start_date >= start and period.end_date <= end:
            out.append(key[1])
    return list(dict.fromkeys(out))


def _value_json(key: DataValueKey, record: DataValueRecord) -> dict[str, Any]:
    de, period, ou, coc, aoc = key
    item: dict[str, Any] = {
        "dataElement": de,
        "period": period,
        "orgUnit": ou,
        "categoryOptionCombo": coc,
        "attributeOptionCombo": aoc,
        "value": record.value,
        "storedBy": record.stored_by,
        "created": record.created,
        "lastUpdated": record.last_updated,
    }
    if record.comment is not None:
        item["comment"] = record.comment
    item["followup"] = record.followup
    if record.deleted:
        item["deleted"] = True
    return item


def read_data_values(state: EmulatorState, query: DataValuesQuery) -> tuple[dict[str, Any], int]:
    """The `GET /api/dataValueSets` body of a query and its number of values.

    Raises:
        DataValuesError: For a query DHIS2 refuses (E2001 ... E2006).
    """
    has_de = any((query.data_sets, query.data_elements, query.data_element_groups))
    if not has_de:
        raise DataValuesError(
            "E2001", "At least one data element, data set or data element group must be specified"
        )
    periods = list(query.periods)
    start, end = query.start_date, query.end_date
    last_updated = query.last_updated
    if not periods and not (start and end) and not last_updated:
        raise DataValuesError(
            "E2002",
            "At least one period, start/end dates, last updated or last "
            "updated duration must be specified",
        )
    if periods and (start or end):
        raise DataValuesError("E2003", "Both periods and start/end date cannot be specified")
    if not query.org_units and not query.org_unit_groups:
        raise DataValuesError(
            "E2006", "At least one organisation unit or organisation unit group must be specified"
        )
    if start and end:
        try:
            start_date, end_date = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            raise DataValuesError("E2004", "Start date must be before end date") from None
        if start_date > end_date:
            raise DataValuesError("E2004", "Start date must be before end date")
        periods = _periods_between(state, start_date, end_date)
    elif not periods:
        periods = [*state.data_values.years, *state.data_values.months]
    limit = query.limit
    units = _expand_org_units(state, query)
    values: list[dict[str, Any]] = []
    for key, record in state.data_values.iter_values(
        _data_elements(state, query), periods, units, include_deleted=query.include_deleted
    ):
        if last_updated and record.last_updated < last_updated:
            continue
        values.append(_value_json(key, record))
        if limit is not None and len(values) >= limit:
            break
    body: dict[str, Any] = {}
    data_sets = list(query.data_sets)
    if len(data_sets) == 1 and len(query.periods) == 1 and len(units) == 1:
        body = {"dataSet": data_sets[0], "period": periods[0], "orgUnit": units[0]}
    body["dataValues"] = values
    return body, len(values)


# ----------------------------------------------------------------------------------- writing


def validate_value(value_type: str, value: str) -> str | None:
    """Check a value against a DHIS2 value type; return DHIS2's reason key when invalid.

    Example:
        >>> validate_value("INTEGER_ZERO_OR_POSITIVE", "-3")
        'value_not_zero_or_positive_integer'
        >>> validate_value("NUMBER", "12.5") is None
        True
    """
    if value_type in ("NUMBER", "PERCENTAGE", "UNIT_INTERVAL"):
        try:
            number = float(value)
        except ValueError:
            return "value_not_numeric"
        if math.isnan(number) or math.isinf(number):
            return "value_not_numeric"
        if value_type == "PERCENTAGE" and not 0 <= number <= 100:
            return "value_not_percentage"
        if value_type == "UNIT_INTERVAL" and not 0 <= number <= 1:
            return "value_not_unit_interval"
        return None
    if value_type.startswith("INTEGER"):
        if not _INTEGER.match(value):
            return "value_not_integer"
        number_i = int(value)
        if value_type == "INTEGER_POSITIVE" and number_i <= 0:
            return "value_not_positive_integer"
        if value_type == "INTEGER_ZERO_OR_POSITIVE" and number_i < 0:
            return "value_not_zero_or_positive_integer"
        if value_type == "INTEGER_NEGATIVE" and number_i >= 0:
            return "value_not_negative_integer"
        return None
    if value_type == "BOOLEAN" and value.lower() not in ("true", "false", "1", "0"):
        return "value_not_bool"
    if value_type == "TRUE_ONLY" and value.lower() not in ("true", "1"):
        return "value_not_true_only"
    return None


class _Conflicts:
    """Conflicts in DHIS2's shape; identical conflicts merge and accumulate `indexes`."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rejected: set[int] = set()

    def add(self, index: int, prop: str, obj: str, code: str, message: str) -> None:
        key = (code, obj, message)
        conflict = self.items.get(key)
        if conflict is None:
            conflict = self.items[key] = {
                "object": obj,
                "objects": {prop: obj},
                "value": message,
                "errorCode": code,
                "property": prop,
                "indexes": [],
            }
        conflict["indexes"].append(index)
        self.rejected.add(index)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def import_data_value_set(
    state: EmulatorState,
    payload: dict[str, Any],
    *,
    strategy: str = "CREATE_AND_UPDATE",
    dry_run: bool = False,
    is_async: bool = False,
    username: str = "admin",
    user_roots: Iterable[str] = ("ImspTQPwCqd",),
) -> dict[str, Any]:
    """Import a data value set into the emulator and return its ImportSummary.

    Args:
        state: The emulator state.
        payload: The JSON data value set.
        strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        dry_run: Validate and count without writing.
        is_async: Recorded in `importOptions`.
        username: `storedBy` of written values.
        user_roots: The importing user's org unit roots (E7617 outside them).

    Returns:
        The ImportSummary dict (DHIS2 key order).
    """
    objects = state.dataset.objects
    store = state.data_values
    options = {
        **IMPORT_OPTIONS_DEFAULTS,
        "dryRun": dry_run,
        "async": is_async,
        "importStrategy": strategy,
    }
    counts = {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}
    conflicts = _Conflicts()
    data_set_id = payload.get("dataSet")
    data_set = objects.get("dataSets", {}).get(data_set_id) if data_set_id else None
    if data_set_id and data_set is None:
        return {
            "responseType": "ImportSummary",
            "status": "ERROR",
            "importOptions": options,
            "description": "Import process was aborted",
            "importCount": counts,
            "conflicts": [
                {
                    "object": data_set_id,
                    "objects": {"dataSet": data_set_id},
                    "value": f"Data set not found or not accessible: `{data_set_id}`",
                    "errorCode": "E7600",
                    "property": "dataSet",
                    "indexes": [],
                }
            ],
            "rejectedIndexes": [],
            "dataSetComplete": "false",
        }
    members = (
        {ref["dataElement"]["id"] for ref in data_set.get("dataSetElements", [])}
        if data_set
        else None
    )
    elements: Any = objects.get("dataElements", {})
    cocs: Any = objects.get("categoryOptionCombos", {})
    roots = [store.org_unit_range(r) for r in user_roots if store.position(r) is not None]
    default_period = payload.get("period")
    default_ou = payload.get("orgUnit")
    default_aoc = payload.get("attributeOptionCombo") or DEFAULT_ATTRIBUTE_OPTION_COMBO
    now = format_timestamp(datetime.now())
    valid_periods: dict[str, bool] = {}
    raw_values = payload.get("dataValues") or []

    with state.lock:
        for index, raw in enumerate(raw_values):
            if not isinstance(raw, dict):
                counts["ignored"] += 1
                conflicts.add(
                    index,
                    "dataValue",
                    str(index),
                    "E7618",
                    f"Data value or comment not specified for data element: `{raw}`",
                )
                continue
            de = str(raw.get("dataElement") or "")
            period = str(raw.get("period") or default_period or "")
            ou = str(raw.get("orgUnit") or default_ou or "")
            coc = str(raw.get("categoryOptionCombo") or "")
            aoc = str(raw.get("attributeOptionCombo") or default_aoc)
            value = _str(raw.get("value"))
            comment = _str(raw.get("comment"))
            followup = bool(raw.get("followup", raw.get("followUp", False)))
            element = elements.get(de)
            before = len(conflicts.rejected)
            if element is None:
                conflicts.add(
                    index,
                    "dataElement",
                    de,
                    "E7610",
                    f"Data element not found or not accessible: `{de}`",
                )
            if period not in valid_periods:
                try:
                    parse_period(period)
                    valid_periods[period] = True
                except (ValueError, TypeError):
                    valid_periods[period] = False
            if not valid_periods[period]:
                conflicts.add(index, "period", period, "E7611", f"Period not valid: `{period}`")
            pos = store.position(ou)
            if pos is None:
                conflicts.add(
                    index,
                    "orgUnit",
                    ou,
                    "E7612",
                    f"Organisation unit not found or not accessible: `{ou}`",
                )
            elif not any(lo <= pos < hi for lo, hi in roots):
                conflicts.add(
                    index,
                    "orgUnit",
                    ou,
                    "E7617",
                    f"Organisation unit: `{ou}` not in hierarchy of current user: `{username}`",
                )
            if element is not None and not coc:
                combo_cocs = store.option_combos(de)
                coc = combo_cocs[0] if len(combo_cocs) == 1 else DEFAULT_ATTRIBUTE_OPTION_COMBO
            if coc and coc not in cocs:
                conflicts.add(
                    index,
                    "categoryOptionCombo",
                    coc,
                    "E7613",
                    f"Category option combo not found or not accessible for writing data: `{coc}`",
                )
            elif element is not None and coc not in store.option_combos(de):
                conflicts.add(
                    index,
                    "categoryOptionCombo",
                    coc,
                    "E7634",
                    f"Category option combo: `{coc}` must be part of category combo "
                    f"of data element: `{de}`",
                )
            if aoc not in cocs:
                conflicts.add(
                    index,
                    "attributeOptionCombo",
                    aoc,
                    "E7615",
                    f"Attribute option combo not found or not accessible for writing data: `{aoc}`",
                )
            if element is not None and members is not None and de not in members:
                conflicts.add(
                    index,
                    "dataElement",
                    de,
                    "E7633",
                    f"Data element: `{de}` is not part of dataset: `{data_set_id}`",
                )
            if element is not None and value not in (None, ""):
                reason = validate_value(str(element.get("valueType", "TEXT")), value)
                if reason is not None:
                    conflicts.add(
                        index,
                        "value",
                        value,
                        "E7619",
                        f"Value must match data element's `{de}` type constraints: {reason}",
                    )
            if len(conflicts.rejected) > before or index in conflicts.rejected:
                counts["ignored"] += 1
                continue

            key: DataValueKey = (de, period, ou, coc, aoc)
            existing = store.get(key)
            empty = value in (None, "") and comment in (None, "")
            if strategy == "DELETE" or (empty and strategy != "CREATE"):
                if existing is None:
                    counts["ignored"] += 1
                    continue
                counts["deleted"] += 1
                if not dry_run:
                    store.put(
                        key,
                        DataValueRecord(
                            existing.value,
                            username,
                            existing.created,
                            now,
                            existing.comment,
                            existing.followup,
                            deleted=True,
                        ),
                    )
                continue
            if value == "0" and assert_zero_insignificant(element):
                counts["ignored"] += 1
                continue
            if existing is None:
                if strategy == "UPDATE":
                    counts["ignored"] += 1
                    continue
                counts["imported"] += 1
                if not dry_run:
                    store.put(
                        key, DataValueRecord(value or "", username, now, now, comment, followup)
                    )
                continue
            if strategy == "CREATE":
                counts["ignored"] += 1
                continue
            same = (
                existing.value == (value or "")
                and (existing.comment or None) == (comment or None)
                and existing.followup == followup
            )
            if same:
                counts["ignored"] += 1
                continue
            counts["updated"] += 1
            if not dry_run:
                store.put(
                    key,
                    DataValueRecord(
                        value or "", username, existing.created, now, comment, followup
                    ),
                )

    conflict_list = list(conflicts.items.values())
    return {
        "responseType": "ImportSummary",
        "status": "WARNING" if conflict_list else "SUCCESS",
        "importOptions": options,
        "description": "Import process completed successfully",
        "importCount": counts,
        "conflicts": conflict_list,
        "rejectedIndexes": sorted(conflicts.rejected),
        "dataSetComplete": "false",
    }


def assert_zero_insignificant(element: dict[str, Any] | None) -> bool:
    """True when a zero is not stored for this data element (`zeroIsSignificant` false)."""
    return element is not None and not element.get("zeroIsSignificant", False)
