"""National analytics extraction: sharded concurrent executor vs the server's capacity.

Extracts 50 data elements x every facility x 24 months from the emulator
(running in its own process, standing for a remote DHIS2) under a cost model
with a bounded number of server workers, and prints, from medians of several
runs measured in the same process:

(a) wall time / server-capacity bound, where the bound is the emulator's
    total simulated work divided by its number of workers (target <= 1.3),
    and the speed-up over running the same shards one after another
    (target >= 3x);
(c) the same extraction as the bundled Prefect flow `dhis2_analytics_export`
    (a real Prefect test server, the host's global concurrency limit, result
    persistence, caching) vs the executor alone doing the same work (extract
    and write the same CSV/Parquet files) (target <= 1.25x).

The default per-row cost (100 us a row, in line with a national DHIS2 serving
large analytics queries) keeps the emulator's own Python work per row (about
10 us on one core) below the simulated work per worker, so the bound is what
limits; `--per-row-s 2e-6` shows what happens when the emulator itself is the
bottleneck.

Run: `python benchmarks/analytics_extraction.py [--org-units 300] [--runs 3]`
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry noise
if "PREFECT_HOME" not in os.environ:  # Prefect's files go to a folder removed at exit
    _HOME = tempfile.mkdtemp(prefix="prefect-dhis2-bench-")
    os.environ["PREFECT_HOME"] = _HOME
    atexit.register(shutil.rmtree, _HOME, ignore_errors=True)

from prefect_dhis2.analytics import AnalyticsQuery, afetch_analytics_table
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.testing import CostModel, EmulatorProcess

REFERENCE_DATE = date(2024, 6, 30)
MONTHS = [f"{y}{m:02d}" for y in (2022, 2023) for m in range(1, 13)]
SERVER_WORKERS = 4


def data_elements(credentials: Dhis2Credentials, count: int) -> list[str]:
    with credentials.get_client() as client:
        records = client.fetch_metadata(
            "dataElements",
            fields="id,domainType,aggregationType",
            filters=["domainType:eq:AGGREGATE"],
        )
    ids = sorted(r["id"] for r in records if r.get("aggregationType") == "SUM")
    if len(ids) < count:
        raise SystemExit(f"The emulator has only {len(ids)} SUM data elements")
    return ids[:count]


async def extract(credentials: Dhis2Credentials, query: AnalyticsQuery, **options: object):
    async with credentials.get_async_client() as client:
        return await afetch_analytics_table(client, query, **options)  # type: ignore[arg-type]


def measure(
    dhis2: EmulatorProcess, credentials: Dhis2Credentials, query: AnalyticsQuery, **options: object
) -> tuple[float, float, int, int]:
    """(wall s, capacity bound s, rows, shards) of one extraction."""
    dhis2.reset_stats()
    started = time.perf_counter()
    result = asyncio.run(extract(credentials, query, **options))
    wall = time.perf_counter() - started
    assert result.complete, result.failures[:1]
    stats = dhis2.stats()
    return (
        wall,
        stats["total_server_work_s"] / SERVER_WORKERS,
        len(result.rows),
        result.shards_fetched,
    )


def regenerate_tables(credentials: Dhis2Credentials) -> None:
    """Run analytics table generation so the next flow run cannot use its cache."""
    with credentials.get_client() as client:
        before = client.get_server_info().last_analytics_table_success
        httpx.post(
            f"{credentials.base_url}/api/resourceTables/analytics",
            auth=(credentials.username or "", credentials.password.get_secret_value()),  # type: ignore[union-attr]
        ).raise_for_status()
        while client.get_server_info().last_analytics_table_success == before:
            time.sleep(0.05)


def flow_vs_executor(
    credentials: Dhis2Credentials, query: AnalyticsQuery, runs: int
) -> tuple[list[float], list[float]]:
    from prefect.testing.utilities import prefect_test_harness

    from prefect_dhis2.analytics import write_analytics_table
    from prefect_dhis2.flows import dhis2_analytics_export

    flow_times: list[float] = []
    alone_times: list[float] = []
    with prefect_test_harness(server_startup_timeout=120), tempfile.TemporaryDirectory() as tmp:
        for run in range(runs + 1):  # the first flow run warms the Prefect server up
            regenerate_tables(credentials)
            started = time.perf_counter()
            report = dhis2_analytics_export(
                data_items=list(query.data_items),
                org_units=list(query.org_units),
                periods=list(query.periods),
                credentials=credentials,
                output_dir=os.path.join(tmp, f"flow{run}"),
            )
            flow_s = time.perf_counter() - started
            started = time.perf_counter()
            result = asyncio.run(extract(credentials, query))
            write_analytics_table(result, Path(tmp) / f"alone{run}", ["csv", "parquet"])
            alone_s = time.perf_counter() - started
            assert report.table.rows == len(result.rows)
            if run:
                flow_times.append(flow_s)
                alone_times.append(alone_s)
            print(
                f"  run {run}: flow {flow_s:.2f} s, executor alone {alone_s:.2f} s"
                f"{' (warm-up, not counted)' if not run else ''}"
            )
    return flow_times, alone_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--org-units", type=int, default=300, help="org unit tree size")
    parser.add_argument("--data-elements", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-s", type=float, default=0.02)
    parser.add_argument("--per-row-s", type=float, default=1e-4)
    parser.add_argument("--skip-flow", action="store_true", help="skip part (c)")
    args = parser.parse_args()

    cost = CostModel(
        latency_s=args.latency_s, per_row_s=args.per_row_s, max_concurrent=SERVER_WORKERS
    )
    with EmulatorProcess(
        org_units=args.org_units, relative_period_date=REFERENCE_DATE, cost=cost
    ) as dhis2:
        credentials = dhis2.credentials(max_concurrency=SERVER_WORKERS)
        query = AnalyticsQuery(
            data_items=data_elements(credentials, args.data_elements),
            org_units=["LEVEL-4"],
            periods=MONTHS,
        )
        print(f"Cost model: {cost}; client max_concurrency={SERVER_WORKERS}")
        measure(dhis2, credentials, query)  # warm-up: the emulator builds its columns

        concurrent = [measure(dhis2, credentials, query) for _ in range(args.runs)]
        wall = statistics.median(c[0] for c in concurrent)
        bound = statistics.median(c[1] for c in concurrent)
        rows, shards = concurrent[0][2], concurrent[0][3]
        print(
            f"\n(a) {args.data_elements} data elements x all facilities x 24 months: "
            f"{rows:,} rows in {shards} shards"
        )
        for i, (w, b, _, _) in enumerate(concurrent):
            print(f"  run {i}: wall {w:.2f} s, capacity bound {b:.2f} s, ratio {w / b:.2f}")
        ratio = statistics.median(c[0] / c[1] for c in concurrent)
        print(
            f"  median wall {wall:.2f} s; capacity bound {bound:.2f} s; "
            f"wall / bound = {ratio:.2f} (target <= 1.3) {'OK' if ratio <= 1.3 else 'MISSED'}"
        )

        # The same shards, one after another (one worker, same plan).
        sequential_credentials = credentials.model_copy(update={"max_concurrency": 1})
        seq_wall, _, seq_rows, seq_shards = measure(
            dhis2, sequential_credentials, query, min_shards=4 * SERVER_WORKERS
        )
        assert (seq_rows, seq_shards) == (rows, shards)
        speedup = seq_wall / wall
        print(
            f"  same {seq_shards} shards one after another: {seq_wall:.2f} s; "
            f"speed-up {speedup:.2f}x (target >= 3) {'OK' if speedup >= 3 else 'MISSED'}"
        )

        if not args.skip_flow:
            print(
                "\n(c) the same extraction as the Prefect flow vs the executor alone "
                "(both write CSV + Parquet):"
            )
            flow_times, alone_times = flow_vs_executor(credentials, query, args.runs)
            flow_s, alone_s = statistics.median(flow_times), statistics.median(alone_times)
            overhead = flow_s / alone_s
            print(
                f"  median flow {flow_s:.2f} s, executor alone {alone_s:.2f} s: "
                f"{overhead:.2f}x (target <= 1.25) {'OK' if overhead <= 1.25 else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
