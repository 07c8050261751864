"""Prefect tasks for metadata: thin wrappers over the engine that take the credentials block.

Each task opens a client from `Dhis2Credentials`, calls the engine
(`catalogue`, `quality`, `imports`, `connection`), logs to the run logger and
publishes artifacts where a programme manager wants one.

See `prefect_dhis2.metadata` for an example flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.metadata.catalogue import (
    afetch_metadata,
    flatten_data_element,
    flatten_indicator,
)
from prefect_dhis2.metadata.connection import ConnectionCheckResult, acheck_connection
from prefect_dhis2.metadata.imports import (
    MetadataImportResult,
    MetadataImportValidationError,
    aimport_metadata,
    import_report_rows,
)
from prefect_dhis2.metadata.quality import MetadataQualityResult, acheck_metadata_quality
from prefect_dhis2.metadata.report import import_description
from prefect_dhis2.runtime import retry_transient_failures, run_engine, run_logger

__all__ = [
    "check_connection",
    "check_metadata_quality",
    "fetch_metadata",
    "flatten_data_elements",
    "flatten_indicators",
    "import_metadata",
]


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

    Runs `prefect_dhis2.metadata.catalogue.afetch_metadata`, which checks the type
    (one of `METADATA_TYPES`) and the filters before any request.

    Examples:
        ```python
        aggregate = fetch_metadata(
            credentials, "dataElements", filters=["domainType:eq:AGGREGATE"], order="name:asc"
        )
        ```
    """
    return run_engine(credentials, afetch_metadata, metadata_type, fields, filters, order)


@task(name="Flatten DHIS2 data elements")
def flatten_data_elements(data_elements: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per data element (columns `DATA_ELEMENT_COLUMNS`); see `flatten_data_element`.

    Fetch with `DATA_ELEMENT_FIELDS` to fill every column.
    """
    return [flatten_data_element(de) for de in data_elements]


@task(name="Flatten DHIS2 indicators")
def flatten_indicators(indicators: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per indicator (columns `INDICATOR_COLUMNS`); see `flatten_indicator`.

    Fetch with `INDICATOR_FIELDS` to fill every column.
    """
    return [flatten_indicator(ind) for ind in indicators]


@task(
    name="Check DHIS2 metadata quality",
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=retry_transient_failures,
)
def check_metadata_quality(
    credentials: Dhis2Credentials, geometry_level: int | None = None
) -> MetadataQualityResult:
    """Fetch org units, data elements, indicators and reference targets, and score them.

    See `prefect_dhis2.metadata.quality.score_metadata_quality` for the checks and the score.
    """
    result = run_engine(credentials, acheck_metadata_quality, geometry_level=geometry_level)
    run_logger().info("Metadata quality score %.1f (%s)", result.score, result.rating)
    return result


@task(name="Check the DHIS2 connection", retries=0)
def check_connection(credentials: Dhis2Credentials) -> ConnectionCheckResult:
    """Read the server info and the user, and count the main metadata collections.

    Not retried: wrong credentials or an unreachable URL should be reported at once.

    Examples:
        ```python
        result = check_connection(Dhis2Credentials.load("BLOCK_NAME"))
        print(result.version, result.username)
        ```
    """
    return run_engine(credentials, acheck_connection)


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

    Runs `prefect_dhis2.metadata.imports.aimport_metadata` (the commit runs only when
    validation found no errors; see there for the payload and the modes). The report
    of the last step is published as a table artifact with one row per type and one
    per error (with the object's name beside its UID), also when validation refused
    the payload. Not chunked: the payload goes in one request per step, so there is
    no progress artifact.

    Args:
        credentials: The DHIS2 instance.
        payload: e.g. `{"dataElements": [...], "indicators": [...]}`.
        import_strategy: `CREATE_AND_UPDATE`, `CREATE`, `UPDATE` or `DELETE`.
        atomic_mode: `ALL` (all or nothing) or `NONE`.
        validate_only: Stop after validation.
        artifact_key: Key of the table artifact (None for no artifact).

    Raises:
        MetadataImportValidationError: When validation reports errors (nothing written).
        ValueError: For unknown metadata types in the payload, before any request.
    """
    logger = run_logger()
    refused: MetadataImportValidationError | None = None
    try:
        result = run_engine(
            credentials,
            aimport_metadata,
            payload,
            import_strategy,
            atomic_mode,
            validate_only=validate_only,
        )
    except MetadataImportValidationError as error:
        refused = error
        result = MetadataImportResult(committed=False, validation=error.report)
    validation = result.validation
    logger.info("Validation: %s, %d errors", validation.status, len(validation.errors))
    if result.commit is not None:
        logger.info("Commit: %s, stats %s", result.commit.status, result.commit.stats.model_dump())
    if artifact_key:
        create_table_artifact(
            key=artifact_key,
            table=import_report_rows(result.final, payload),
            description=import_description(result),
        )
    if refused is not None:
        raise refused
    return result
