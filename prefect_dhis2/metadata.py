"""Metadata: fetch any type, flatten catalogues, check quality, import safely.

Example:
    ```python
    from prefect import flow
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.metadata import fetch_metadata, flatten_data_elements

    @flow
    def data_element_catalogue():
        credentials = Dhis2Credentials.load("BLOCK_NAME")
        elements = fetch_metadata(credentials, "dataElements", fields=DATA_ELEMENT_FIELDS)
        return flatten_data_elements(elements)
    ```
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from prefect import task
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel, Field

from prefect_dhis2.client._core import validate_filter
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.expressions import find_missing_references
from prefect_dhis2.models import ImportReport
from prefect_dhis2.runtime import retry_transient_failures, run_logger, run_sync
from prefect_dhis2.writers import Column

__all__ = [
    "DATA_ELEMENT_COLUMNS",
    "DATA_ELEMENT_FIELDS",
    "INDICATOR_COLUMNS",
    "INDICATOR_FIELDS",
    "METADATA_TYPES",
    "MetadataImportResult",
    "MetadataImportValidationError",
    "QualityCheck",
    "QualityReport",
    "check_metadata_quality",
    "fetch_metadata",
    "flatten_data_elements",
    "flatten_indicators",
    "import_metadata",
    "quality_report",
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

    Example:
        >>> validate_metadata_type("dataElements")
        'dataElements'

    Raises:
        ValueError: For an unknown type, with the closest known names.
    """
    if metadata_type in METADATA_TYPES:
        return metadata_type
    import difflib

    close = difflib.get_close_matches(metadata_type, sorted(METADATA_TYPES), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"Unknown DHIS2 metadata type {metadata_type!r}.{hint}")


@task(
    name="Fetch DHIS2 metadata",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_failures,
)
def fetch_metadata(
    credentials: Dhis2Credentials,
    metadata_type: str,
    fields: str = "id,name,code",
    filters: Sequence[str] | None = None,
    order: str | None = None,
) -> list[dict[str, Any]]:
    """Fetch every record of a metadata type (pages fetched concurrently).

    Args:
        credentials: The DHIS2 instance.
        metadata_type: A collection such as `dataElements` (see `METADATA_TYPES`).
        fields: DHIS2 `fields` selection.
        filters: e.g. `["domainType:eq:AGGREGATE"]`.
        order: e.g. `name:asc`.

    Raises:
        ValueError: For an unknown type or an invalid filter, before any request.
    """
    validate_metadata_type(metadata_type)
    for expression in filters or ():
        validate_filter(expression)

    async def fetch() -> list[dict[str, Any]]:
        async with credentials.get_async_client() as client:
            return await client.fetch_metadata(
                metadata_type, fields=fields, filters=filters, order=order
            )

    return run_sync(fetch())


def _ref(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else None


@task(name="Flatten DHIS2 data elements")
def flatten_data_elements(data_elements: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per data element (columns `DATA_ELEMENT_COLUMNS`).

    Fetch with `DATA_ELEMENT_FIELDS` to fill every column.
    """
    rows = []
    for de in data_elements:
        combo = de.get("categoryCombo")
        data_sets = [
            dse.get("dataSet") for dse in de.get("dataSetElements") or [] if dse.get("dataSet")
        ]
        rows.append(
            {
                "id": de.get("id"),
                "name": de.get("name"),
                "short_name": de.get("shortName"),
                "code": de.get("code"),
                "value_type": de.get("valueType"),
                "aggregation_type": de.get("aggregationType"),
                "domain_type": de.get("domainType"),
                "zero_is_significant": de.get("zeroIsSignificant"),
                "category_combo_id": _ref(combo, "id"),
                "category_combo_name": _ref(combo, "name"),
                "data_set_ids": ";".join(sorted(str(ds.get("id")) for ds in data_sets)) or None,
                "data_set_names": ";".join(sorted(str(ds.get("name")) for ds in data_sets)) or None,
            }
        )
    return rows


@task(name="Flatten DHIS2 indicators")
def flatten_indicators(indicators: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per indicator (columns `INDICATOR_COLUMNS`).

    Fetch with `INDICATOR_FIELDS` to fill every column.
    """
    rows = []
    for ind in indicators:
        kind = ind.get("indicatorType")
        rows.append(
            {
                "id": ind.get("id"),
                "name": ind.get("name"),
                "short_name": ind.get("shortName"),
                "code": ind.get("code"),
                "indicator_type_id": _ref(kind, "id"),
                "indicator_type_name": _ref(kind, "name"),
                "factor": _ref(kind, "factor"),
                "annualized": ind.get("annualized"),
                "decimals": ind.get("decimals"),
                "numerator": ind.get("numerator"),
                "numerator_description": ind.get("numeratorDescription"),
                "denominator": ind.get("denominator"),
                "denominator_description": ind.get("denominatorDescription"),
            }
        )
    return rows


# ---------------------------------------------------------------------------
# Quality
# ---------------------------------------------------------------------------

Rating = Literal["green", "amber", "red"]


class QualityCheck(BaseModel):
    """One metadata quality check.

    Attributes:
        name: What is checked, e.g. `org units without a code`.
        checked: How many objects were checked.
        failed: How many failed.
        weight: Its weight in the overall score.
        examples: Up to 20 offending objects (`id` and detail).
    """

    name: str
    checked: int
    failed: int
    weight: float = 1.0
    examples: list[dict[str, str]] = Field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        """Share of objects that passed (1.0 when nothing was checked)."""
        return 1.0 if self.checked == 0 else 1 - self.failed / self.checked


class QualityReport(BaseModel):
    """Metadata quality: each check and a 0-100 score rated green/amber/red.

    The score is the weighted mean pass rate of the checks, times 100. Ratings:
    green at `green_at` or more, amber at `amber_at` or more, red below.
    """

    checks: list[QualityCheck]
    score: float
    rating: Rating
    green_at: float = 90.0
    amber_at: float = 75.0


def quality_report(
    *,
    org_units: Sequence[Mapping[str, Any]],
    data_elements: Sequence[Mapping[str, Any]],
    indicators: Sequence[Mapping[str, Any]],
    known_uids: Iterable[str],
    geometry_level: int | None = None,
    green_at: float = 90.0,
    amber_at: float = 75.0,
) -> QualityReport:
    """Score metadata quality from already-fetched metadata (pure).

    Checks: missing codes (org units, data elements, indicators), duplicate
    names (per type), orphan org units (a parent that does not exist, or no
    parent below level 1), org units without geometry (at `geometry_level`,
    default the deepest level), and indicators whose expressions reference
    missing objects or do not parse.

    Args:
        org_units: With `id,name,code,level,parent[id],geometry` (geometry may be
            a `geometry~isNotEmpty`-style boolean under `has_geometry`).
        data_elements: With `id,name,code`.
        indicators: With `id,name,code,numerator,denominator`.
        known_uids: Every UID that exists (for indicator references).
        geometry_level: Level whose units must have geometry.
        green_at: Score from which the rating is green.
        amber_at: Score from which the rating is amber.
    """

    def examples(objs: Iterable[Mapping[str, Any]], detail: str) -> list[dict[str, str]]:
        return [{"id": str(o.get("id")), "detail": detail} for o in list(objs)[:20]]

    checks: list[QualityCheck] = []
    for label, objs in (
        ("org units", org_units),
        ("data elements", data_elements),
        ("indicators", indicators),
    ):
        missing = [o for o in objs if not o.get("code")]
        checks.append(
            QualityCheck(
                name=f"{label} without a code",
                checked=len(objs),
                failed=len(missing),
                weight=0.5,
                examples=examples(missing, "no code"),
            )
        )
        counts = Counter(str(o.get("name") or "").strip().lower() for o in objs)
        duplicates = [o for o in objs if counts[str(o.get("name") or "").strip().lower()] > 1]
        checks.append(
            QualityCheck(
                name=f"{label} with a duplicate name",
                checked=len(objs),
                failed=len(duplicates),
                examples=[
                    {"id": str(o.get("id")), "detail": str(o.get("name"))} for o in duplicates[:20]
                ],
            )
        )

    ids = {str(o.get("id")) for o in org_units}
    orphans = []
    for unit in org_units:
        parent = unit.get("parent")
        parent_id = parent.get("id") if isinstance(parent, Mapping) else None
        if (parent_id is None and unit.get("level", 1) != 1) or (
            parent_id is not None and parent_id not in ids
        ):
            orphans.append(unit)
    checks.append(
        QualityCheck(
            name="org units whose parent is missing",
            checked=len(org_units),
            failed=len(orphans),
            weight=2.0,
            examples=examples(orphans, "parent not found"),
        )
    )

    depth = geometry_level or max((int(o.get("level") or 0) for o in org_units), default=0)
    at_level = [o for o in org_units if int(o.get("level") or 0) == depth]
    no_geometry = [
        o for o in at_level if not (isinstance(o.get("geometry"), Mapping) and o["geometry"])
    ]
    checks.append(
        QualityCheck(
            name=f"level {depth} org units without geometry",
            checked=len(at_level),
            failed=len(no_geometry),
            examples=examples(no_geometry, "no geometry"),
        )
    )

    missing_refs = find_missing_references(indicators, set(known_uids))
    broken: dict[str, list[str]] = defaultdict(list)
    for ref in missing_refs:
        broken[ref.indicator].append(
            f"{ref.side}: {ref.detail}" if ref.uid is None else f"{ref.side}: {ref.kind} {ref.uid}"
        )
    checks.append(
        QualityCheck(
            name="indicators referencing missing objects",
            checked=len(indicators),
            failed=len(broken),
            weight=3.0,
            examples=[{"id": k, "detail": "; ".join(v)} for k, v in list(broken.items())[:20]],
        )
    )

    total_weight = sum(c.weight for c in checks)
    score = round(100 * sum(c.weight * c.pass_rate for c in checks) / total_weight, 1)
    rating: Rating = "green" if score >= green_at else "amber" if score >= amber_at else "red"
    return QualityReport(
        checks=checks, score=score, rating=rating, green_at=green_at, amber_at=amber_at
    )


@task(
    name="Check DHIS2 metadata quality",
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=retry_transient_failures,
)
def check_metadata_quality(
    credentials: Dhis2Credentials, geometry_level: int | None = None
) -> QualityReport:
    """Fetch org units, data elements, indicators and reference targets, and score them.

    See `quality_report` for the checks and the score.
    """

    async def fetch() -> dict[str, list[dict[str, Any]]]:
        import asyncio

        async with credentials.get_async_client() as client:
            types = {
                "organisationUnits": "id,name,code,level,parent[id],geometry",
                "dataElements": "id,name,code",
                "indicators": "id,name,code,numerator,denominator",
                "categoryOptionCombos": "id",
                "constants": "id",
                "organisationUnitGroups": "id",
                "dataSets": "id",
                "programIndicators": "id",
                "programs": "id",
                "trackedEntityAttributes": "id",
            }

            async def one(kind: str, fields: str) -> list[dict[str, Any]]:
                try:
                    return await client.fetch_metadata(kind, fields=fields)
                except Exception:
                    if kind in ("organisationUnits", "dataElements", "indicators"):
                        raise
                    return []  # an instance without programs still gets a report

            results = await asyncio.gather(*(one(k, f) for k, f in types.items()))
            return dict(zip(types, results, strict=True))

    metadata = run_sync(fetch())
    known = {str(o["id"]) for objs in metadata.values() for o in objs if "id" in o}
    report = quality_report(
        org_units=metadata["organisationUnits"],
        data_elements=metadata["dataElements"],
        indicators=metadata["indicators"],
        known_uids=known,
        geometry_level=geometry_level,
    )
    run_logger().info("Metadata quality score %.1f (%s)", report.score, report.rating)
    return report


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------


class MetadataImportValidationError(ValueError):
    """DHIS2 refused the payload in the validation step; nothing was written."""

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
    """The outcome of `import_metadata`.

    Attributes:
        committed: Whether the COMMIT step ran.
        validation: The VALIDATE step's report.
        commit: The COMMIT step's report (None when not committed).
    """

    committed: bool
    validation: ImportReport
    commit: ImportReport | None = None


def _report_rows(report: ImportReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for type_report in report.type_reports:
        kind = type_report.klass.rsplit(".", 1)[-1]
        rows.append(
            {
                "type": kind,
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
            for err in obj.error_reports:
                rows.append(
                    {
                        "type": kind,
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


@task(name="Import DHIS2 metadata", retries=0)
def import_metadata(
    credentials: Dhis2Credentials,
    payload: Mapping[str, Any],
    import_strategy: str = "CREATE_AND_UPDATE",
    atomic_mode: str = "ALL",
    validate_only: bool = False,
    artifact_key: str | None = "dhis2-metadata-import",
) -> MetadataImportResult:
    """Import metadata safely: validate with `importMode=VALIDATE`, then commit.

    The commit runs only when validation found no errors. The report(s) are
    published as a table artifact with one row per type and one per error.

    Args:
        credentials: The DHIS2 instance.
        payload: e.g. `{"dataElements": [...], "indicators": [...]}`; every key must
            be a metadata type.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        atomic_mode: `ALL` (all or nothing) or `NONE`.
        validate_only: Stop after validation.
        artifact_key: Key of the table artifact (None for no artifact).

    Raises:
        MetadataImportValidationError: When validation reports errors (nothing written).
        ValueError: For unknown metadata types in the payload, before any request.
    """
    for key in payload:
        if key not in ("system",):
            validate_metadata_type(key)
    logger = run_logger()
    with credentials.get_client() as client:
        validation = client.post_metadata(
            payload,
            import_mode="VALIDATE",
            atomic_mode=atomic_mode,
            import_strategy=import_strategy,
        )
        logger.info("Validation: %s, %d errors", validation.status, len(validation.errors))
        final = validation
        result = MetadataImportResult(committed=False, validation=validation)
        if not validation.errors and not validate_only:
            final = client.post_metadata(
                payload,
                import_mode="COMMIT",
                atomic_mode=atomic_mode,
                import_strategy=import_strategy,
            )
            result = MetadataImportResult(committed=True, validation=validation, commit=final)
            logger.info("Commit: %s, stats %s", final.status, final.stats.model_dump())
    if artifact_key:
        step = "commit" if result.committed else "validation"
        create_table_artifact(
            key=artifact_key,
            table=_report_rows(final),
            description=f"DHIS2 metadata import ({step}): status {final.status}, "
            f"{final.stats.created} created, {final.stats.updated} updated, "
            f"{len(final.errors)} errors",
        )
    if validation.errors:
        raise MetadataImportValidationError(validation)
    return result
