"""Importing 200,000 data values: concurrent chunked import vs the server's capacity.

Builds 200,000 valid data values (numeric data elements x their option combos x
facilities x months of 2025, all new), then imports them with
`aimport_data_values` (local validation, value types read once, a dry run
of every chunk, then the commit of every chunk, concurrently) into the emulator
running in its own process (standing for a remote DHIS2), and prints from the
median of several runs:

(b) wall time / server-capacity bound, the bound being the emulator's total
    simulated work (dry run + commit) divided by its number of workers
    (target <= 1.3), and, as a baseline measured in the same run, the same
    import with one chunk at a time.

The default per-value cost (100 us a value, about what a DHIS2 server needs
to import 10,000 values a second) keeps the emulator's own Python work per
value below the simulated work per worker.

Run: `python benchmarks/data_values_import.py [--values 200000] [--runs 3]`
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import time
from datetime import date
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.data_values import DataValuesImportResult, aimport_data_values
from prefect_dhis2.testing import CostModel, EmulatorProcess

REFERENCE_DATE = date(2024, 6, 30)
SERVER_WORKERS = 4
MONTHS = [f"2025{m:02d}" for m in range(1, 13)] + [f"2026{m:02d}" for m in range(1, 13)]


def build_rows(credentials: Dhis2Credentials, count: int) -> list[dict[str, Any]]:
    """`count` valid, new data values for the emulator's numeric data elements."""
    with credentials.get_client() as client:
        elements = client.fetch_metadata(
            "dataElements",
            fields="id,valueType,categoryCombo[id]",
            filters=["domainType:eq:AGGREGATE"],
        )
        combos = {
            c["id"]: [o["id"] for o in c.get("categoryOptionCombos", [])]
            for c in client.fetch_metadata("categoryCombos", fields="id,categoryOptionCombos[id]")
        }
        facilities = [
            o["id"]
            for o in client.fetch_metadata("organisationUnits", fields="id", filters=["level:eq:4"])
        ]
    keys = [
        (e["id"], coc)
        for e in elements
        if e.get("valueType", "").startswith("INTEGER") or e.get("valueType") == "NUMBER"
        for coc in combos.get(e["categoryCombo"]["id"], [])
    ]
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    for (de, coc), ou, pe in itertools.product(keys, facilities, MONTHS):
        rows.append(
            {
                "dataElement": de,
                "categoryOptionCombo": coc,
                "orgUnit": ou,
                "period": pe,
                "attributeOptionCombo": "HllvX50cXC0",
                "value": str(rng.randint(1, 500)),
            }
        )
        if len(rows) == count:
            return rows
    raise SystemExit(f"Only {len(rows)} distinct values can be built; use more org units")


async def run_import(
    credentials: Dhis2Credentials, rows: list[dict[str, Any]], chunk_size: int
) -> DataValuesImportResult:
    async with credentials.get_async_client() as client:
        return await aimport_data_values(client, rows, dry_run=False, chunk_size=chunk_size)


def measure(
    dhis2: EmulatorProcess,
    credentials: Dhis2Credentials,
    rows: list[dict[str, Any]],
    chunk_size: int,
) -> tuple[float, float]:
    """(wall s, capacity bound s) of one import into freshly restored data."""
    dhis2.reset()
    started = time.perf_counter()
    result = asyncio.run(run_import(credentials, rows, chunk_size))
    wall = time.perf_counter() - started
    assert result.status == "SUCCESS" and result.imported == len(rows), result.model_dump(
        exclude={"conflicts", "dry_run_check"}
    )
    return wall, dhis2.stats()["total_server_work_s"] / SERVER_WORKERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--org-units", type=int, default=300)
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-s", type=float, default=0.02)
    parser.add_argument("--per-row-s", type=float, default=1e-4)
    args = parser.parse_args()

    cost = CostModel(
        latency_s=args.latency_s, per_row_s=args.per_row_s, max_concurrent=SERVER_WORKERS
    )
    with EmulatorProcess(
        org_units=args.org_units, relative_period_date=REFERENCE_DATE, cost=cost
    ) as dhis2:
        credentials = dhis2.credentials(max_concurrency=SERVER_WORKERS)
        rows = build_rows(credentials, args.values)
        chunks = -(-len(rows) // args.chunk_size)
        print(f"Cost model: {cost}; client max_concurrency={SERVER_WORKERS}")
        print(
            f"\n(b) importing {len(rows):,} data values in {chunks} chunks of "
            f"{args.chunk_size:,} (dry run of every chunk, then commit):"
        )
        results = [measure(dhis2, credentials, rows, args.chunk_size) for _ in range(args.runs)]
        for i, (wall, bound) in enumerate(results):
            print(
                f"  run {i}: wall {wall:.2f} s, capacity bound {bound:.2f} s, "
                f"ratio {wall / bound:.2f}"
            )
        wall = statistics.median(r[0] for r in results)
        ratio = statistics.median(r[0] / r[1] for r in results)
        print(
            f"  median wall {wall:.2f} s ({len(rows) / wall:,.0f} values/s); wall / bound = "
            f"{ratio:.2f} (target <= 1.3) {'OK' if ratio <= 1.3 else 'MISSED'}"
        )
        one_at_a_time = credentials.model_copy(update={"max_concurrency": 1})
        seq_wall, _ = measure(dhis2, one_at_a_time, rows, args.chunk_size)
        print(
            f"  baseline, one chunk at a time: {seq_wall:.2f} s; concurrent import "
            f"{seq_wall / wall:.2f}x faster"
        )


if __name__ == "__main__":
    main()
