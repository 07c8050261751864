"""Data values: chunked concurrent reads and safe, visible imports."""

from prefect_dhis2.data_values.imports import *
from prefect_dhis2.data_values.imports import __all__ as __all__
from prefect_dhis2.data_values.imports import publish_import_artifacts as publish_import_artifacts
