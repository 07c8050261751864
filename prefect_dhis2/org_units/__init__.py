"""Organisation units: the hierarchy, flat tables with one column pair per level,
and geometry as GeoJSON.

The engine needs no Prefect and takes a live client:

- `hierarchy`: level names, the level/subtree filters, `afetch_org_units`,
  `afetch_org_unit_levels`, and flattening a unit into a row with
  `level_N_id`/`level_N_name` for every ancestor level (`org_unit_columns`).
- `geometry`: GeoJSON features and the `OrgUnitGeometryExtract` of a selection.
- `export`: the streaming export to CSV/Parquet/GeoJSON in constant memory
  (`aexport_org_units`, `OrgUnitExportResult`).
- `tables`: the writers the export feeds one tuple of cells per unit
  (`org_unit_values`), writing the bytes of the `prefect_dhis2.writers` classes.
- `report`: markdown for the artifacts.

`tasks` holds the Prefect tasks, which take the `Dhis2Credentials` block.

Examples:
    ```python
    from prefect import flow
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.org_units import fetch_org_unit_levels, fetch_org_units, flatten_org_units

    @flow
    def district_table():
        credentials = Dhis2Credentials.load("BLOCK_NAME")
        levels = fetch_org_unit_levels(credentials)
        units = fetch_org_units(credentials, filters=["level:le:2"])
        return flatten_org_units(units, levels)
    ```

    Without Prefect, the engine takes a live client:

    ```python
    from prefect_dhis2.org_units import afetch_org_unit_geometry

    async with credentials.get_async_client() as client:
        districts = await afetch_org_unit_geometry(client, level=2)
    ```
"""

from prefect_dhis2._deprecation import deprecated_names as _deprecated_names
from prefect_dhis2.org_units.export import OrgUnitExportResult, aexport_org_units
from prefect_dhis2.org_units.geometry import OrgUnitGeometryExtract, afetch_org_unit_geometry
from prefect_dhis2.org_units.hierarchy import (
    ORG_UNIT_FIELDS,
    afetch_org_unit_levels,
    afetch_org_units,
)
from prefect_dhis2.org_units.tasks import (
    export_org_units,
    fetch_org_unit_geometry,
    fetch_org_unit_levels,
    fetch_org_units,
    flatten_org_units,
)

__all__ = [
    "ORG_UNIT_FIELDS",
    "OrgUnitExportResult",
    "OrgUnitGeometryExtract",
    "aexport_org_units",
    "afetch_org_unit_geometry",
    "afetch_org_unit_levels",
    "afetch_org_units",
    "export_org_units",
    "fetch_org_unit_geometry",
    "fetch_org_unit_levels",
    "fetch_org_units",
    "flatten_org_units",
]

__getattr__ = _deprecated_names(
    __name__,
    {
        "OrgUnitGeometry": "prefect_dhis2.org_units.geometry:OrgUnitGeometryExtract",
        "flatten_org_unit": "prefect_dhis2.org_units.hierarchy",
        "flatten_org_units_rows": "prefect_dhis2.org_units.hierarchy",
        "level_names": "prefect_dhis2.org_units.hierarchy",
        "org_unit_columns": "prefect_dhis2.org_units.hierarchy",
        "org_unit_feature": "prefect_dhis2.org_units.geometry",
    },
)
