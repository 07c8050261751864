"""The metadata import of the DHIS2 emulator (`POST /api/metadata`): an ImportReport.

The payload holds collections (`{"dataElements": [...], "indicators": [...]}`). Each object
is matched by `id` (or `code` with `identifier=CODE|AUTO`), validated (E4000 missing `name`
or `shortName`, E5002 invalid reference, E5003 duplicate `code`, E5000/E5001 for the
`CREATE`/`UPDATE` strategies) and created, updated or deleted. `atomicMode=ALL` (the default)
writes nothing when any object has an error; `importMode=VALIDATE` never writes. Created
objects are visible through the metadata endpoints right away.

Example:
    >>> from prefect_dhis2.testing.core.state import EmulatorConfig, EmulatorState
    >>> state = EmulatorState(EmulatorConfig(org_units=60))
    >>> report = import_metadata(state, {"dataElements": [
    ...     {"name": "New element", "shortName": "New", "valueType": "NUMBER",
    ...      "domainType": "AGGREGATE", "aggregationType": "SUM"}]})
    >>> report["status"], report["stats"]
    ('OK', {'created': 1, 'updated': 0, 'deleted': 0, 'ignored': 0, 'total': 1})
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect_dhis2.testing.core.dataset import SCHEMAS
from prefect_dhis2.testing.core.state import EmulatorState
from prefect_dhis2.testing.core.timestamps import format_timestamp
from prefect_dhis2.uids import generate_uid, is_valid_uid

__all__ = ["import_metadata"]

# Collections whose objects need a shortName besides a name.
_NAMEABLE = frozenset(
    {
        "dataElements",
        "indicators",
        "organisationUnits",
        "dataSets",
        "categoryOptions",
        "organisationUnitGroups",
        "dataElementGroups",
        "indicatorGroups",
        "constants",
    }
)
# Reference properties → the collection they point to (for E5002).
_REFERENCES = {
    "categoryCombo": "categoryCombos",
    "indicatorType": "indicatorTypes",
    "parent": "organisationUnits",
    "dataElement": "dataElements",
    "dataSet": "dataSets",
    "categoryOptionCombo": "categoryOptionCombos",
    "dataElements": "dataElements",
    "indicators": "indicators",
    "organisationUnits": "organisationUnits",
    "categories": "categories",
    "categoryOptions": "categoryOptions",
}
_STATS_KEYS = ("created", "updated", "deleted", "ignored", "total")


def _stats() -> dict[str, int]:
    return dict.fromkeys(_STATS_KEYS, 0)


def _klass_simple(collection: str) -> str:
    schema = SCHEMAS.get(collection)
    return schema.simple_name if schema else "IdentifiableObject"


def _error(
    code: str, message: str, collection: str, prop: str | None, value: Any = None
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "message": message,
        "mainKlass": SCHEMAS[collection].klass,
        "errorCode": code,
    }
    if prop is not None:
        report["errorKlass"] = SCHEMAS[_REFERENCES.get(prop, collection)].klass
        report["errorProperty"] = prop
        report["errorProperties"] = [prop]
    if value is not None:
        report["value"] = value
    return report


def import_metadata(
    state: EmulatorState,
    payload: dict[str, Any],
    *,
    import_mode: str = "COMMIT",
    strategy: str = "CREATE_AND_UPDATE",
    atomic_mode: str = "ALL",
    identifier: str = "UID",
    username: str = "admin",
) -> dict[str, Any]:
    """Import a metadata payload and return the ImportReport.

    Args:
        state: The emulator state.
        payload: Collection name → list of objects.
        import_mode: `COMMIT` or `VALIDATE` (validate only).
        strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        atomic_mode: `ALL` (nothing written if any error) or `NONE`.
        identifier: `UID`, `CODE` or `AUTO` (how objects are matched).
        username: Recorded as `lastUpdatedBy`.

    Returns:
        The ImportReport dict (DHIS2 key order).
    """
    objects = state.dataset.objects
    plans: list[tuple[str, str, str, dict[str, Any] | None]] = []  # (coll, uid, action, obj)
    type_reports: list[dict[str, Any]] = []
    total = _stats()
    errors_found = False
    payload_ids = {
        str(o.get("id"))
        for key, items in payload.items()
        if key in SCHEMAS and isinstance(items, list)
        for o in items
        if isinstance(o, dict) and o.get("id")
    }
    for collection, items in payload.items():
        if collection not in SCHEMAS or not isinstance(items, list):
            continue
        existing = objects.setdefault(collection, {})  # type: ignore[arg-type]
        klass = SCHEMAS[collection].klass
        simple = _klass_simple(collection)
        stats = _stats()
        object_reports: list[dict[str, Any]] = []
        codes = (
            {str(o.get("code")): uid for uid, o in existing.items() if o.get("code")}
            if collection != "organisationUnits"
            else {}
        )
        for index, raw in enumerate(items):
            stats["total"] += 1
            if not isinstance(raw, dict):
                stats["ignored"] += 1
                continue
            uid = raw.get("id")
            if not uid and identifier in ("CODE", "AUTO") and raw.get("code") in codes:
                uid = codes[raw["code"]]
            found = uid is not None and uid in existing
            uid = str(uid) if uid else generate_uid()
            errors: list[dict[str, Any]] = []
            if not is_valid_uid(uid):
                errors.append(
                    _error("E4014", f"Invalid UID `{uid}` for property `id`", collection, "id", uid)
                )
            missing = _error(
                "E5001",
                f"No matching object for reference. Identifier was {uid}, and object was {uid}.",
                collection,
                None,
            )
            if strategy == "DELETE":
                if not found:
                    errors.append(missing)
            else:
                if strategy == "CREATE" and found:
                    errors.append(
                        _error(
                            "E5000",
                            "Found matching object for reference, but "
                            f"import mode is CREATE. Identifier was {uid}, and "
                            f"object was {uid}.",
                            collection,
                            None,
                        )
                    )
                if strategy == "UPDATE" and not found:
                    errors.append(missing)
                required = ["name", "shortName"] if collection in _NAMEABLE else ["name"]
                for prop in required:
                    if not raw.get(prop):
                        errors.append(
                            _error(
                                "E4000", f"Missing required property `{prop}`.", collection, prop
                            )
                        )
                code = raw.get("code")
                if code and codes.get(str(code), uid) != uid:
                    errors.append(
                        _error(
                            "E5003",
                            f"Property `code` with value `{code}` on object {uid} already exists "
                            f"on object {codes[str(code)]}.",
                            collection,
                            "code",
                            code,
                        )
                    )
                for prop, target in _REFERENCES.items():
                    value = raw.get(prop)
                    refs = value if isinstance(value, list) else [value] if value else []
                    for ref in refs:
                        ref_id = ref.get("id") if isinstance(ref, dict) else None
                        if ref_id is None:
                            continue
                        if ref_id not in objects.get(target, {}) and ref_id not in payload_ids:
                            errors.append(
                                _error(
                                    "E5002",
                                    f"Invalid reference [{ref_id}] ({_klass_simple(target)}) on "
                                    f"object [{uid}] ({simple}) for association `{prop}`.",
                                    collection,
                                    prop,
                                    ref_id,
                                )
                            )
            if errors:
                errors_found = True
                stats["ignored"] += 1
                object_reports.append(
                    {"klass": klass, "index": index, "uid": uid, "errorReports": errors}
                )
                continue
            action = "deleted" if strategy == "DELETE" else ("updated" if found else "created")
            stats[action] += 1
            if code := raw.get("code"):
                codes[str(code)] = uid
            plans.append((collection, uid, action, {**raw, "id": uid}))
        for key in _STATS_KEYS:
            total[key] += stats[key]
        type_reports.append({"klass": klass, "stats": stats, "objectReports": object_reports})

    if errors_found and atomic_mode == "ALL":
        # Nothing is written: every counted change becomes "ignored".
        for report in type_reports:
            stats = report["stats"]
            stats["ignored"] = stats["total"]
            stats["created"] = stats["updated"] = stats["deleted"] = 0
        total = _stats()
        for report in type_reports:
            for key in _STATS_KEYS:
                total[key] += report["stats"][key]
        plans = []
    if import_mode == "COMMIT" and plans:
        now = format_timestamp(datetime.now())
        with state.lock:
            for collection, uid, action, obj in plans:
                store = objects[collection]
                if action == "deleted":
                    del store[uid]
                    continue
                assert obj is not None
                previous = store.get(uid) or {}
                merged = {**obj}
                merged.setdefault("created", previous.get("created", now))
                merged["lastUpdated"] = now
                merged.setdefault("displayName", merged.get("name"))
                if "shortName" in merged:
                    merged.setdefault("displayShortName", merged["shortName"])
                merged.setdefault("attributeValues", [])
                merged.setdefault("translations", [])
                store[uid] = merged
            if any(p[0] == "organisationUnits" for p in plans):
                state.data_values.refresh_org_units()
    status = "OK" if not errors_found else ("ERROR" if atomic_mode == "ALL" else "WARNING")
    return {
        "responseType": "ImportReport",
        "status": status,
        "stats": total,
        "typeReports": type_reports,
    }
