"""Import results: data value `ImportSummary` and metadata `ImportReport`.

DHIS2 wraps these differently by version; the client unwraps every shape to the
same models:

| version | data values | metadata |
|---|---|---|
| <= 2.37 | bare ImportSummary, 200 | bare ImportReport, 200 |
| 2.38-2.42 | WebMessage; 200 OK, 409 WARNING/ERROR | WebMessage; 200 OK, 409 WARNING |
| 2.43+ | WebMessage; 200 OK/WARNING, 409 ERROR | as 2.38 |
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ErrorReport",
    "ImportConflict",
    "ImportCount",
    "ImportReport",
    "ImportStats",
    "ImportSummary",
    "ObjectReport",
    "TypeReport",
    "WebMessage",
]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class ImportCount(_Model):
    """How many data values were imported, updated, ignored and deleted."""

    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0


class ImportConflict(_Model):
    """One conflict of a data value import.

    DHIS2 2.37+ merges identical conflicts and lists the 0-based positions of the
    affected values in `indexes`; 2.36 and earlier send only `object` and `value`.
    """

    object: str | None = None
    objects: dict[str, str] = Field(default_factory=dict)
    value: str = ""
    error_code: str | None = Field(default=None, alias="errorCode")
    property: str | None = None
    indexes: list[int] = Field(default_factory=list)


class ImportSummary(_Model):
    """The result of a data value import (`POST /api/dataValueSets`).

    Examples:
        >>> s = ImportSummary.model_validate({"status": "WARNING",
        ...     "importCount": {"imported": 2, "ignored": 1},
        ...     "conflicts": [{"object": "x", "value": "bad", "indexes": [2]}]})
        >>> (s.import_count.imported, s.has_conflicts, s.rejected_indexes)
        (2, True, [2])
    """

    status: str = "SUCCESS"
    description: str | None = None
    import_count: ImportCount = Field(default_factory=ImportCount, alias="importCount")
    conflicts: list[ImportConflict] = Field(default_factory=list)
    rejected_indexes_raw: list[int] | None = Field(default=None, alias="rejectedIndexes")
    import_options: dict[str, Any] = Field(default_factory=dict, alias="importOptions")
    data_set_complete: str | None = Field(default=None, alias="dataSetComplete")

    @field_validator("data_set_complete", mode="before")
    @classmethod
    def _complete_as_text(cls, value: Any) -> Any:
        return str(value).lower() if isinstance(value, bool) else value

    @property
    def has_conflicts(self) -> bool:
        """True when DHIS2 reported at least one conflict."""
        return bool(self.conflicts)

    @property
    def rejected_indexes(self) -> list[int]:
        """Positions of the rejected values (from `rejectedIndexes` or the conflicts)."""
        if self.rejected_indexes_raw is not None:
            return sorted(set(self.rejected_indexes_raw))
        return sorted({i for c in self.conflicts for i in c.indexes})


class ImportStats(_Model):
    """Object counts of a metadata import."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    ignored: int = 0
    total: int = 0


class ErrorReport(_Model):
    """One validation error of a metadata object (`errorCode` such as `E4000`)."""

    message: str = ""
    error_code: str | None = Field(default=None, alias="errorCode")
    main_klass: str | None = Field(default=None, alias="mainKlass")
    error_klass: str | None = Field(default=None, alias="errorKlass")
    error_property: str | None = Field(default=None, alias="errorProperty")
    value: Any = None


class ObjectReport(_Model):
    """The errors of one imported metadata object."""

    klass: str | None = None
    index: int | None = None
    uid: str | None = None
    error_reports: list[ErrorReport] = Field(default_factory=list, alias="errorReports")


class TypeReport(_Model):
    """The stats and object reports of one metadata type."""

    klass: str
    stats: ImportStats = Field(default_factory=ImportStats)
    object_reports: list[ObjectReport] = Field(default_factory=list, alias="objectReports")


class ImportReport(_Model):
    """The result of a metadata import (`POST /api/metadata`).

    Examples:
        >>> r = ImportReport.model_validate({"status": "OK",
        ...     "stats": {"created": 2, "total": 2}, "typeReports": []})
        >>> (r.status, r.stats.created, r.errors)
        ('OK', 2, [])
    """

    status: str = "OK"
    stats: ImportStats = Field(default_factory=ImportStats)
    type_reports: list[TypeReport] = Field(default_factory=list, alias="typeReports")
    import_params: dict[str, Any] = Field(default_factory=dict, alias="importParams")

    @property
    def errors(self) -> list[tuple[str, ObjectReport, ErrorReport]]:
        """Every error as (type, object report, error report)."""
        return [
            (tr.klass.rsplit(".", 1)[-1], obj, err)
            for tr in self.type_reports
            for obj in tr.object_reports
            for err in obj.error_reports
        ]


class WebMessage(_Model):
    """DHIS2's envelope for errors, info and wrapped results.

    Key order on the wire is `httpStatus, httpStatusCode, status, code, message,
    devMessage, response` plus `errorCode`.
    """

    http_status: str | None = Field(default=None, alias="httpStatus")
    http_status_code: int | None = Field(default=None, alias="httpStatusCode")
    status: str | None = None
    code: int | None = None
    message: str | None = None
    dev_message: str | None = Field(default=None, alias="devMessage")
    error_code: str | None = Field(default=None, alias="errorCode")
    response: dict[str, Any] | None = None
