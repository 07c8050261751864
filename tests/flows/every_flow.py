"""Run every bundled flow against one emulator (shared by the load and fault tests)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.flows import (
    dhis2_analytics_export,
    dhis2_connection_check,
    dhis2_data_values_import,
    dhis2_geometry_export,
    dhis2_indicator_complexity,
    dhis2_metadata_export,
    dhis2_metadata_quality,
    dhis2_org_units_export,
)
from prefect_dhis2.testing import Dhis2Emulator

DATA_SET = "BfMAe6Itzgt"
IMPORT_COLUMNS = ["dataElement", "period", "orgUnit", "categoryOptionCombo",
                  "attributeOptionCombo", "value"]  # fmt: skip


def import_rows(emulator: Dhis2Emulator, facilities: int = 3) -> list[dict[str, str]]:
    """Rows for the stored keys of a few facilities: new values in 2024-08, changes in 2024-01."""
    units = emulator.state.dataset.org_units_at_level(4)[:facilities]
    response = httpx.get(
        f"{emulator.base_url}/api/dataValueSets",
        params=[("dataSet", DATA_SET), ("period", "202401")] + [("orgUnit", u) for u in units],
        auth=("admin", "district"),
    )
    rows = []
    for i, value in enumerate(response.json()["dataValues"]):
        base = {k: value[k] for k in ("dataElement", "orgUnit", "categoryOptionCombo",
                                      "attributeOptionCombo")}  # fmt: skip
        rows.append({**base, "period": "202408", "value": str(i % 50 + 1)})
        rows.append({**base, "period": "202401", "value": str(int(value["value"]) + 1)})
    return rows


def write_import_csv(path: Path, rows: list[dict[str, str]]) -> str:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=IMPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def flow_runs(
    credentials: Dhis2Credentials, emulator: Dhis2Emulator, folder: Path
) -> dict[str, Callable[[], Any]]:
    """One call per bundled flow, each writing below `folder / <flow name>`."""

    def out(name: str) -> str:
        path = folder / name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    folder.mkdir(parents=True, exist_ok=True)
    source = write_import_csv(folder / "values.csv", import_rows(emulator))
    return {
        "analytics": lambda: dhis2_analytics_export(
            data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"],
            org_units=["LEVEL-2"],
            periods=["202401", "202402", "202403"],
            credentials=credentials,
            output_dir=out("analytics"),
            max_rows=40,
        ),
        "connection": lambda: dhis2_connection_check(credentials=credentials),
        "data_values": lambda: dhis2_data_values_import(
            source,
            dry_run=False,
            credentials=credentials,
            output_dir=out("data_values"),
            chunk_size=20,
        ),
        "geometry": lambda: dhis2_geometry_export(
            credentials=credentials, output_dir=out("geometry"), level=3
        ),
        "indicators": lambda: dhis2_indicator_complexity(
            credentials=credentials, output_dir=out("indicators")
        ),
        "metadata": lambda: dhis2_metadata_export(
            credentials=credentials, output_dir=out("metadata")
        ),
        "quality": lambda: dhis2_metadata_quality(
            credentials=credentials, output_dir=out("quality")
        ),
        "org_units": lambda: dhis2_org_units_export(
            credentials=credentials, output_dir=out("org_units")
        ),
    }


def output_files(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (relative path -> bytes), hidden temp files included."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files
