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

Memory: peak resident memory of a fresh process exporting 100,000 vs 400,000 units
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
from prefect_dhis2.org_units import ORG_UNIT_FIELDS, export_org_units
from prefect_dhis2.org_units.hierarchy import level_names, org_unit_columns, org_unit_values
from prefect_dhis2.org_units.tables import open_values_writer
from prefect_dhis2.testing import CostModel, EmulatorProcess

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
        with open_values_writer(directory / "org_units.parquet", org_unit_columns(max_level)) as w:
            for page in client.iter_metadata("organisationUnits", fields=ORG_UNIT_FIELDS):
                w.write_values([org_unit_values(u, names, max_level) for u in page])
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
import json, os, sys, tempfile, threading, time
from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.org_units import export_org_units

PAGE = os.sysconf("SC_PAGE_SIZE")

def rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20

creds = Dhis2Credentials(base_url=sys.argv[1], username="admin", password="district")
before = rss_mb()
peak = [before]
running = True

def sample():
    while running:
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.01)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
result = export_org_units.fn(creds, tempfile.mkdtemp(), formats=["parquet"], geojson=False)
running = False
sampler.join()
peak[0] = max(peak[0], rss_mb())
print(json.dumps({"units": result.org_units, "before_mb": before, "peak_rss_mb": peak[0]}))
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
    print("Resident memory of a fresh process exporting the whole tree to Parquet")
    print("(sampled every 10 ms during the export; 'before' is after imports):")
    for label, result in (("100,000", small), ("400,000", large)):
        grown = result["peak_rss_mb"] - result["before_mb"]
        print(
            f"  {label} units  before {result['before_mb']:6.1f} MB  "
            f"peak {result['peak_rss_mb']:6.1f} MB  growth {grown:6.1f} MB"
        )
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    growth = (large["peak_rss_mb"] - large["before_mb"]) / max(
        small["peak_rss_mb"] - small["before_mb"], 1e-9
    )
    print(f"  peak 400k / 100k    {ratio:5.2f}   (target <= 1.3)")
    print(f"  growth 400k / 100k  {growth:5.2f}   (the names of the units that have children)")


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
