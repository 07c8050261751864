"""Exporting 100,000 org units (with point geometry) to Parquet.

The emulator runs in its own process with a cost model (fixed latency per
request, cost per row, 4 requests worked on at once), like a real server on
another machine. Measured in the same run:

- `export_org_units` (concurrent pages, streamed to Parquet);
- the server-capacity bound: the server's total simulated work / its 4 workers,
  i.e. the fastest any client could possibly be;
- a sequential page-by-page client doing the same work (sync client, one page
  after another, same flattening and writer).

Targets: export / bound <= 1.3 and sequential / export >= 3.

Memory: peak RSS of a fresh process exporting 100,000 vs 400,000 units
(target: the larger uses <= 1.3x the memory of the smaller).

Run: `python benchmarks/org_units_export.py [--runs 3] [--skip-memory]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.org_units import (
    ORG_UNIT_FIELDS,
    export_org_units,
    flatten_org_unit,
    level_names,
    org_unit_columns,
)
from prefect_dhis2.testing import CostModel
from prefect_dhis2.testing.process import EmulatorProcess
from prefect_dhis2.writers import open_table_writer

# A real DHIS2 spends roughly half a millisecond per org unit with geometry (database,
# Hibernate, JSON) on top of a fixed cost per request; the emulator itself needs far
# less, so the figures measure the client against the server it would really face.
COST = CostModel(latency_s=0.05, per_row_s=0.0005, max_concurrent=4)


def sequential_export(credentials: Dhis2Credentials, directory: Path) -> int:
    """The baseline: one page after another with the sync client, same output."""
    with credentials.get_client() as client:
        levels = level_names(
            client.fetch_metadata("organisationUnitLevels", fields="id,name,level", paging=False)
        )
        max_level = max(levels)
        names: dict[str, str] = {}
        for page in client.iter_metadata(
            "organisationUnits", fields="id,name", filters=[f"level:lt:{max_level}"]
        ):
            names.update((u["id"], u["name"]) for u in page)
        count = 0
        with open_table_writer(directory / "org_units.parquet", org_unit_columns(max_level)) as w:
            for page in client.iter_metadata("organisationUnits", fields=ORG_UNIT_FIELDS):
                w.write_batch([flatten_org_unit(u, names, max_level) for u in page])
                count += len(page)
    return count


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def speed(org_units: int, runs: int) -> None:
    print(f"Emulator: {org_units:,} org units, cost {COST}")
    with EmulatorProcess(org_units=org_units, cost=COST) as dhis2:
        credentials = dhis2.credentials(max_concurrency=COST.max_concurrent)
        sequential_export(credentials, Path(tempfile.mkdtemp()))  # warm the server's caches
        concurrent_walls, bounds, sequential_walls = [], [], []
        for _ in range(runs):
            dhis2.reset_stats()
            wall, result = timed(
                lambda: export_org_units.fn(
                    credentials, tempfile.mkdtemp(), formats=["parquet"], geojson=False
                )
            )
            stats = dhis2.stats()
            assert result.org_units == org_units, result
            concurrent_walls.append(wall)
            bounds.append(stats["total_server_work_s"] / COST.max_concurrent)
            wall, count = timed(lambda: sequential_export(credentials, Path(tempfile.mkdtemp())))
            assert count == org_units
            sequential_walls.append(wall)
    export = statistics.median(concurrent_walls)
    bound = statistics.median(bounds)
    sequential = statistics.median(sequential_walls)
    print(f"  runs: {runs} (median)")
    print(f"  concurrent export     {export:7.2f} s  ({org_units / export:,.0f} units/s)")
    print(f"  server-capacity bound {bound:7.2f} s")
    print(f"  sequential client     {sequential:7.2f} s")
    print(f"  export / bound        {export / bound:7.2f}   (target <= 1.3)")
    print(f"  sequential / export   {sequential / export:7.2f}x  (target >= 3)")


_CHILD = """
import json, resource, sys, tempfile
from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.org_units import export_org_units
creds = Dhis2Credentials(base_url=sys.argv[1], username="admin", password="district")
result = export_org_units.fn(creds, tempfile.mkdtemp(), formats=["parquet"], geojson=False)
print(json.dumps({"units": result.org_units,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_memory(org_units: int) -> dict[str, float]:
    with EmulatorProcess(org_units=org_units) as dhis2:
        output = subprocess.run(
            [sys.executable, "-c", _CHILD, dhis2.base_url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    assert result["units"] == org_units
    return result


def memory() -> None:
    small, large = peak_memory(100_000), peak_memory(400_000)
    print("Peak RSS of a process exporting the whole tree to Parquet:")
    print(f"  100,000 units  {small['peak_rss_mb']:7.1f} MB")
    print(f"  400,000 units  {large['peak_rss_mb']:7.1f} MB")
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"  400k / 100k    {ratio:7.2f}   (target <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--org-units", type=int, default=100_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    speed(args.org_units, args.runs)
    if not args.skip_memory:
        memory()


if __name__ == "__main__":
    main()
