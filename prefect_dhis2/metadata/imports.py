"""The metadata import engine: VALIDATE first, COMMIT only when DHIS2 found no errors.

Pure: no Prefect. `aimport_metadata` posts a payload to `/api/metadata` twice with a
live `AsyncDhis2Client` (first `importMode=VALIDATE`, then `COMMIT`) and returns a
`MetadataImportResult`; a payload that DHIS2 refuses in validation raises
`MetadataImportValidationError` and nothing is written. `import_report_rows` lays an
`ImportReport` out as table rows (one per type, one per error, each error with the
object's name from the payload beside its UID).

Examples:
    ```python
    async with credentials.get_async_client() as client:
        result = await aimport_metadata(client, {"constants": [constant]})
    print(result.committed, result.commit.stats.created)
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from prefect_dhis2.metadata.catalogue import validate_metadata_type
from prefect_dhis2.models import ImportReport

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "MetadataImportResult",
    "MetadataImportValidationError",
    "aimport_metadata",
    "import_report_rows",
    "validate_metadata_payload",
]


class MetadataImportValidationError(ValueError):
    """DHIS2 refused the payload in the validation step; nothing was written.

    Attributes:
        report: The VALIDATE step's `ImportReport` (its `errors` say what to fix).
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        errors = report.errors
        lines = [f"{kind} {obj.uid or obj.index}: {err.message}" for kind, obj, err in errors[:10]]
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(
            f"DHIS2 refused the metadata in validation ({len(errors)} errors); nothing was "
            f"written: " + "; ".join(lines) + more
        )


class MetadataImportResult(BaseModel):
    """The outcome of a metadata import.

    Attributes:
        committed: Whether the COMMIT step ran.
        validation: The VALIDATE step's report.
        commit: The COMMIT step's report (None when not committed).
    """

    committed: bool
    validation: ImportReport
    commit: ImportReport | None = None

    @property
    def final(self) -> ImportReport:
        """The last step's report: the commit's when it ran, else the validation's."""
        return self.commit if self.commit is not None else self.validation


def validate_metadata_payload(payload: Mapping[str, Any]) -> None:
    """Check that every key of a metadata payload is a metadata type (or `system`).

    Examples:
        >>> validate_metadata_payload({"constants": [], "system": {}})

    Raises:
        ValueError: For an unknown type, with the closest known names.
    """
    for key in payload:
        if key not in ("system",):
            validate_metadata_type(key)


async def aimport_metadata(
    client: AsyncDhis2Client,
    payload: Mapping[str, Any],
    import_strategy: str = "CREATE_AND_UPDATE",
    atomic_mode: str = "ALL",
    validate_only: bool = False,
) -> MetadataImportResult:
    """Import metadata safely: validate with `importMode=VALIDATE`, then commit.

    The commit runs only when validation found no errors.

    Args:
        client: A live async client.
        payload: e.g. `{"dataElements": [...], "indicators": [...]}`; every key must
            be a metadata type.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        atomic_mode: `ALL` (all or nothing) or `NONE`.
        validate_only: Stop after validation.

    Raises:
        MetadataImportValidationError: When validation reports errors (nothing written).
        ValueError: For unknown metadata types in the payload, before any request.
    """
    validate_metadata_payload(payload)
    validation = await client.post_metadata(
        payload, import_mode="VALIDATE", atomic_mode=atomic_mode, import_strategy=import_strategy
    )
    if validation.errors:
        raise MetadataImportValidationError(validation)
    if validate_only:
        return MetadataImportResult(committed=False, validation=validation)
    commit = await client.post_metadata(
        payload, import_mode="COMMIT", atomic_mode=atomic_mode, import_strategy=import_strategy
    )
    return MetadataImportResult(committed=True, validation=validation, commit=commit)


def _singular(collection: str) -> str:
    """`dataElements` -> `dataelement`, `categories` -> `category` (to match a klass)."""
    name = collection.lower()
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name.removesuffix("s")


def _payload_names(
    payload: Mapping[str, Any] | None,
) -> tuple[dict[str, str], dict[tuple[str, int], str]]:
    """The payload's object names by UID, and by (singular collection, index)."""
    by_uid: dict[str, str] = {}
    by_index: dict[tuple[str, int], str] = {}
    for collection, objects in (payload or {}).items():
        if not isinstance(objects, list):
            continue
        for index, obj in enumerate(objects):
            if not isinstance(obj, Mapping):
                continue
            name = obj.get("name") or obj.get("displayName") or obj.get("shortName")
            if not name:
                continue
            by_index[(_singular(collection), index)] = str(name)
            if obj.get("id"):
                by_uid[str(obj["id"])] = str(name)
    return by_uid, by_index


def import_report_rows(
    report: ImportReport, payload: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Table rows for an `ImportReport`: one per type (`object` `(all)`), one per error.

    Each error row names its object beside the UID, from `payload` (matched by UID,
    or by position in its collection when the object has no UID yet).

    Examples:
        >>> report = ImportReport.model_validate({"status": "OK", "typeReports": [
        ...     {"klass": "org.hisp.dhis.constant.Constant", "stats": {"created": 1}}]})
        >>> import_report_rows(report)[0]["type"], import_report_rows(report)[0]["created"]
        ('Constant', 1)
        >>> refused = ImportReport.model_validate({"status": "ERROR", "typeReports": [
        ...     {"klass": "org.hisp.dhis.dataelement.DataElement", "objectReports": [
        ...         {"index": 0, "errorReports": [{"message": "Missing required property "
        ...          "`shortName`.", "errorCode": "E4000"}]}]}]})
        >>> row = import_report_rows(refused, {"dataElements": [{"name": "ANC 1st visit"}]})[1]
        >>> row["name"], row["object"], row["error_code"]
        ('ANC 1st visit', '#0', 'E4000')
    """
    by_uid, by_index = _payload_names(payload)
    rows: list[dict[str, Any]] = []
    for type_report in report.type_reports:
        kind = type_report.klass.rsplit(".", 1)[-1]
        rows.append(
            {
                "type": kind,
                "name": "",
                "object": "(all)",
                "created": type_report.stats.created,
                "updated": type_report.stats.updated,
                "deleted": type_report.stats.deleted,
                "ignored": type_report.stats.ignored,
                "error_code": "",
                "error": "",
            }
        )
        for obj in type_report.object_reports:
            name = by_uid.get(obj.uid or "") or (
                by_index.get((kind.lower(), obj.index), "") if obj.index is not None else ""
            )
            for err in obj.error_reports:
                rows.append(
                    {
                        "type": kind,
                        "name": name,
                        "object": obj.uid or f"#{obj.index}",
                        "created": "",
                        "updated": "",
                        "deleted": "",
                        "ignored": "",
                        "error_code": err.error_code or "",
                        "error": err.message,
                    }
                )
    return rows
