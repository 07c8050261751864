"""Data values: chunked concurrent reads and safe, visible imports.

Everything but `tasks.py` is plain Python over a live `AsyncDhis2Client` (no Prefect):

- `rows.py`: reading CSV/JSON input with DHIS2's names, normalising and checking rows
  (fields, UIDs, periods, numbers for numeric data elements) before any request;
  `InvalidDataValuesError` names the bad rows.
- `imports.py`: the import engine `aimport_data_values`: chunks, a dry run then the
  commit, a failed chunk sent again with the same bytes, every `ImportSummary` added up
  and each conflict mapped to its input row (`DataValuesImportResult`,
  `DataValueConflict`, `ChunkFailure`; `DataValuesImportError` when chunks were not sent).
- `extract.py`: the read engine `afetch_data_values`: `GET /api/dataValueSets` in
  concurrent chunks of org units and periods (`DataValuesExtract`).
- `report.py`: the import summary markdown and `conflicts.csv`.
- `tasks.py`: the Prefect tasks `import_data_values` and `fetch_data_values` (they take
  the `Dhis2Credentials` block), their artifacts and the read cache.

Examples:
    ```python
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.data_values import import_data_values

    result = import_data_values(Dhis2Credentials.load("BLOCK_NAME"), "values.csv",
                                dry_run=False)
    print(result.imported, result.updated, result.ignored, result.rejected)
    ```

    Without Prefect, with an open client:

    ```python
    from prefect_dhis2.data_values import aimport_data_values, read_data_values_file

    result = await aimport_data_values(client, read_data_values_file("values.csv"))
    ```
"""

from prefect_dhis2._deprecation import deprecated_names as _deprecated_names
from prefect_dhis2.data_values.extract import DataValuesExtract, afetch_data_values
from prefect_dhis2.data_values.imports import (
    ChunkFailure,
    DataValueConflict,
    DataValuesImportError,
    DataValuesImportResult,
    aimport_data_values,
)
from prefect_dhis2.data_values.rows import (
    InvalidDataValuesError,
    read_data_values_file,
    validate_data_value_rows,
    validate_value_types,
)
from prefect_dhis2.data_values.tasks import fetch_data_values, import_data_values

__all__ = [
    "ChunkFailure",
    "DataValueConflict",
    "DataValuesExtract",
    "DataValuesImportError",
    "DataValuesImportResult",
    "InvalidDataValuesError",
    "afetch_data_values",
    "aimport_data_values",
    "fetch_data_values",
    "import_data_values",
    "read_data_values_file",
    "validate_data_value_rows",
    "validate_value_types",
]

__getattr__ = _deprecated_names(
    __name__,
    {
        "import_data_values_async": (
            "prefect_dhis2.data_values.tasks:aimport_data_values_under_limit"
        ),
        "fetch_data_values_async": "prefect_dhis2.data_values.extract:afetch_data_values",
        "DATA_VALUE_COLUMNS": "prefect_dhis2.data_values.rows",
        "REQUIRED_COLUMNS": "prefect_dhis2.data_values.rows",
        "publish_import_artifacts": "prefect_dhis2.data_values.tasks",
    },
)
