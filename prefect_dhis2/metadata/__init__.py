"""Metadata: fetch any type, flatten catalogues, check quality, import safely.

The engine needs no Prefect and takes a live client:

- `catalogue`: DHIS2's metadata collection names (`METADATA_TYPES`), the field
  selections and columns of flat data element and indicator tables, `afetch_metadata`
  and the flatteners.
- `quality`: the quality checks and their green/amber/red score (`MetadataQualityResult`).
- `imports`: the metadata import engine, VALIDATE then COMMIT (`MetadataImportResult`).
- `connection`: the connection check (`ConnectionCheckResult`).
- `report`: markdown and table rows for the artifacts.

`tasks` holds the Prefect tasks, which take the `Dhis2Credentials` block.

Examples:
    ```python
    from prefect import flow
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.metadata import DATA_ELEMENT_FIELDS, fetch_metadata, flatten_data_elements

    @flow
    def data_element_catalogue():
        credentials = Dhis2Credentials.load("BLOCK_NAME")
        elements = fetch_metadata(credentials, "dataElements", fields=DATA_ELEMENT_FIELDS)
        return flatten_data_elements(elements)
    ```

    Without Prefect, the engine takes a live client (here from the block, which
    needs no Prefect server when built in code):

    ```python
    from prefect_dhis2.metadata import INDICATOR_FIELDS, afetch_metadata

    credentials = Dhis2Credentials(base_url="https://dhis2.example.org", token="d2p_...")
    async with credentials.get_async_client() as client:
        indicators = await afetch_metadata(client, "indicators", fields=INDICATOR_FIELDS)
    ```
"""

from prefect_dhis2._deprecation import deprecated_names as _deprecated_names
from prefect_dhis2.metadata.catalogue import DATA_ELEMENT_FIELDS, INDICATOR_FIELDS, afetch_metadata
from prefect_dhis2.metadata.connection import ConnectionCheckResult, acheck_connection
from prefect_dhis2.metadata.imports import (
    MetadataImportResult,
    MetadataImportValidationError,
    aimport_metadata,
)
from prefect_dhis2.metadata.quality import (
    MetadataQualityResult,
    QualityCheck,
    acheck_metadata_quality,
)
from prefect_dhis2.metadata.tasks import (
    check_connection,
    check_metadata_quality,
    fetch_metadata,
    flatten_data_elements,
    flatten_indicators,
    import_metadata,
)

__all__ = [
    "DATA_ELEMENT_FIELDS",
    "INDICATOR_FIELDS",
    "ConnectionCheckResult",
    "MetadataImportResult",
    "MetadataImportValidationError",
    "MetadataQualityResult",
    "QualityCheck",
    "acheck_connection",
    "acheck_metadata_quality",
    "afetch_metadata",
    "aimport_metadata",
    "check_connection",
    "check_metadata_quality",
    "fetch_metadata",
    "flatten_data_elements",
    "flatten_indicators",
    "import_metadata",
]

__getattr__ = _deprecated_names(
    __name__,
    {
        "DATA_ELEMENT_COLUMNS": "prefect_dhis2.metadata.catalogue",
        "INDICATOR_COLUMNS": "prefect_dhis2.metadata.catalogue",
        "METADATA_TYPES": "prefect_dhis2.metadata.catalogue",
        "validate_metadata_type": "prefect_dhis2.metadata.catalogue",
        "QualityReport": "prefect_dhis2.metadata.quality:MetadataQualityResult",
        "quality_report": "prefect_dhis2.metadata.quality:score_metadata_quality",
    },
)
