"""Warehouse build: the star-schema flow vs the analytics extraction alone, and memory.

All facilities x 20 data elements x 24 months from the emulator (in its own process,
standing for a remote DHIS2, under a cost model with a bounded number of server
workers). Prints, from medians of several runs measured in the same process:

(a) wall time of the whole flow `dhis2_star_schema` (a real Prefect test server:
    dimensions, extraction, DuckDB load, integrity checks, Parquet export) against
    the extraction alone (`afetch_analytics_table`, same query) (target <= +15 %);
    against the warehouse engine without Prefect (`abuild_star_schema` with the
    Parquet copy: what the warehouse itself adds); against the same extraction as
    the one task of a Prefect flow (what Prefect itself adds: the flow and task
    runs, the host budget's leases, the run's logs); and the flows again with
    Prefect's flow heartbeats off (its heartbeat thread sleeps in 1 s steps and is
    joined when a sync flow run ends, so each run ends up to 1 s later);
(b) facts loaded per second (the refresh's time beyond the extraction);
(c) peak resident memory of a refresh (the engine in a fresh child process) at 1x
    and 4x the rows (4x the org unit tree) (target <= 1.3x growth, i.e. streaming).

The machine is shared and noisy: read the figures as ratios of runs made side by side.

Run: `python benchmarks/warehouse_build.py [--org-units 1332] [--runs 3]`
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
if "PREFECT_HOME" not in os.environ:  # Prefect's files go to a folder removed at exit
    _HOME = tempfile.mkdtemp(prefix="prefect-dhis2-bench-")
    os.environ["PREFECT_HOME"] = _HOME  # children (the measured methods) inherit it
    atexit.register(shutil.rmtree, _HOME, ignore_errors=True)

from prefect_dhis2.analytics import AnalyticsQuery, afetch_analytics_table
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.testing import CostModel, EmulatorProcess

REFERENCE_DATE = date(2024, 6, 30)
MONTHS = [f"{y}{m:02d}" for y in (2022, 2023) for m in range(1, 13)]
SERVER_WORKERS = 4

_CHILD = """
import asyncio, json, resource, sys, time
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.warehouse.build import abuild_star_schema
args = json.loads(sys.argv[1])
credentials = Dhis2Credentials(**args["credentials"])
async def main():
    async with credentials.get_async_client() as client:
        return await abuild_star_schema(client, args["warehouse"], args["items"],
                                        ["LEVEL-4"], args["periods"])
started = time.perf_counter()
result = asyncio.run(main())
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"facts": result.facts_loaded, "peak_mb": peak_kb / 1024,
                  "wall_s": time.perf_counter() - started}))
"""


def data_elements(credentials: Dhis2Credentials, count: int) -> list[str]:
    with credentials.get_client() as client:
        records = client.fetch_metadata(
            "dataElements", fields="id,aggregationType", filters=["domainType:eq:AGGREGATE"]
        )
    ids = sorted(r["id"] for r in records if r.get("aggregationType") == "SUM")
    if len(ids) < count:
        raise SystemExit(f"The emulator has only {len(ids)} SUM data elements")
    return ids[:count]


def extraction_alone(credentials: Dhis2Credentials, query: AnalyticsQuery) -> tuple[float, int]:
    async def run() -> int:
        async with credentials.get_async_client() as client:
            return len((await afetch_analytics_table(client, query)).rows)

    started = time.perf_counter()
    rows = asyncio.run(run())
    return time.perf_counter() - started, rows


def _extraction_flow() -> Any:
    """The same extraction as one task of a Prefect flow (the host budget, the run's logs)."""
    from prefect import flow, task

    from prefect_dhis2.runtime import run_engine

    @task(persist_result=False)
    def extract(credentials: Dhis2Credentials, query: AnalyticsQuery) -> int:
        return len(run_engine(credentials, afetch_analytics_table, query).rows)

    @flow(name="benchmark-extraction-only")
    def extraction_only(credentials: Dhis2Credentials, query: AnalyticsQuery) -> int:
        return extract(credentials, query)

    return extraction_only


def engine_alone(credentials: Dhis2Credentials, query: AnalyticsQuery, tmp: Path) -> float:
    """The warehouse engine without Prefect: a fresh build with its Parquet copy."""
    from prefect_dhis2.warehouse.build import abuild_star_schema

    async def run() -> int:
        async with credentials.get_async_client() as client:
            result = await abuild_star_schema(
                client,
                tmp / "engine.duckdb",
                list(query.data_items),
                list(query.org_units),
                list(query.periods),
                parquet_dir=tmp / "engine_parquet",
            )
        return result.facts_loaded

    (tmp / "engine.duckdb").unlink(missing_ok=True)
    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def flow_vs_extraction(
    credentials: Dhis2Credentials, query: AnalyticsQuery, runs: int
) -> tuple[dict[str, list[float]], list[float], int]:
    import contextlib

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from prefect_dhis2.flows import dhis2_star_schema

    times: dict[str, list[float]] = {
        k: [] for k in ("flow", "alone", "engine", "in_flow", "flow_nohb", "in_flow_nohb")
    }
    load_rates: list[float] = []
    facts = 0
    extraction_only = _extraction_flow()

    def star_schema(warehouse: Path) -> tuple[float, Any]:
        started = time.perf_counter()
        report = dhis2_star_schema(
            credentials=credentials,
            data_items=list(query.data_items),
            org_units=list(query.org_units),
            periods=list(query.periods),
            warehouse=str(warehouse),
            composite=False,
        )
        return time.perf_counter() - started, report

    def one_task_flow(rows: int) -> float:
        started = time.perf_counter()
        assert extraction_only(credentials, query) == rows
        return time.perf_counter() - started

    with prefect_test_harness(server_startup_timeout=120), tempfile.TemporaryDirectory() as tmp:
        for run in range(runs + 1):  # the first run warms the Prefect server up
            # A fresh warehouse each time: a full build.
            flow_s, report = star_schema(Path(tmp) / f"w{run}.duckdb")
            alone_s, rows = extraction_alone(credentials, query)
            in_flow_s = one_task_flow(rows)
            engine_s = engine_alone(credentials, query, Path(tmp))
            no_heartbeats = temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
            with no_heartbeats if run else contextlib.nullcontext():
                flow_nohb_s, _ = star_schema(Path(tmp) / f"n{run}.duckdb")
                in_flow_nohb_s = one_task_flow(rows)
            facts = report.result.facts_loaded
            assert facts == rows, (facts, rows)
            extract_s = report.result.extract.duration_s if report.result.extract else 0.0
            beyond = max(flow_s - extract_s, 1e-9)
            measured = {
                "flow": flow_s,
                "alone": alone_s,
                "engine": engine_s,
                "in_flow": in_flow_s,
                "flow_nohb": flow_nohb_s,
                "in_flow_nohb": in_flow_nohb_s,
            }
            if run:
                for key, value in measured.items():
                    times[key].append(value)
                load_rates.append(facts / beyond)
            print(
                f"  run {run}: flow {flow_s:.2f} s (its extraction {extract_s:.2f} s), "
                f"extraction alone {alone_s:.2f} s, engine without Prefect {engine_s:.2f} s, "
                f"in a one-task flow {in_flow_s:.2f} s; heartbeats off: flow "
                f"{flow_nohb_s:.2f} s, one-task flow {in_flow_nohb_s:.2f} s"
                f"{' (warm-up, not counted)' if not run else ''}"
            )
    return times, load_rates, facts


def peak_memory(org_units: int, count: int, cost: CostModel) -> tuple[int, float]:
    """(facts, peak RSS MB) of one refresh in a fresh child process."""
    import json

    with (
        EmulatorProcess(
            org_units=org_units, relative_period_date=REFERENCE_DATE, cost=cost
        ) as dhis2,
        tempfile.TemporaryDirectory() as tmp,
    ):
        credentials = dhis2.credentials(max_concurrency=SERVER_WORKERS)
        items = data_elements(credentials, count)
        payload = {
            "credentials": {
                "base_url": credentials.base_url,
                "username": credentials.username,
                "password": "district",
                "max_concurrency": SERVER_WORKERS,
            },
            "warehouse": str(Path(tmp) / "w.duckdb"),
            "items": items,
            "periods": MONTHS,
        }
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(payload)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        return int(figures["facts"]), float(figures["peak_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--org-units", type=int, default=1332, help="org unit tree size (1x)")
    parser.add_argument("--data-elements", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-s", type=float, default=0.02)
    parser.add_argument("--per-row-s", type=float, default=2e-5)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()

    cost = CostModel(
        latency_s=args.latency_s, per_row_s=args.per_row_s, max_concurrent=SERVER_WORKERS
    )
    print(f"Cost model: {cost}; client max_concurrency={SERVER_WORKERS}; shared, noisy machine")
    with EmulatorProcess(
        org_units=args.org_units, relative_period_date=REFERENCE_DATE, cost=cost
    ) as dhis2:
        credentials = dhis2.credentials(max_concurrency=SERVER_WORKERS)
        query = AnalyticsQuery(
            data_items=data_elements(credentials, args.data_elements),
            org_units=["LEVEL-4"],
            periods=MONTHS,
            include_num_den=True,
        )
        extraction_alone(credentials, query)  # warm-up: the emulator builds its columns
        times, rates, facts = flow_vs_extraction(credentials, query, args.runs)
    med = {key: statistics.median(values) for key, values in times.items()}
    overhead = med["flow"] / med["alone"] - 1
    print(
        f"\n(a) {args.data_elements} data elements x all facilities x 24 months: {facts:,} facts"
        f"\n  median flow {med['flow']:.2f} s, extraction alone {med['alone']:.2f} s: "
        f"{overhead:+.0%} (target <= +15%) {'OK' if overhead <= 0.15 else 'MISSED'}"
        f"\n  the warehouse engine without Prefect {med['engine']:.2f} s: the warehouse "
        f"(dimensions, load, checks, commit, Parquet) adds "
        f"{med['engine'] / med['alone'] - 1:+.0%} to the extraction"
        f"\n  the same extraction as one task of a Prefect flow {med['in_flow']:.2f} s: "
        f"Prefect adds {med['in_flow'] / med['alone'] - 1:+.0%} to the extraction, the "
        f"warehouse flow {med['flow'] / med['in_flow'] - 1:+.0%} to that one-task flow"
        f"\n  Prefect's flow heartbeats off: flow {med['flow_nohb']:.2f} s "
        f"({med['flow_nohb'] / med['alone'] - 1:+.0%} on the extraction alone), one-task "
        f"flow {med['in_flow_nohb']:.2f} s ({med['in_flow_nohb'] / med['alone'] - 1:+.0%})"
    )
    print(f"(b) facts loaded per second beyond the extraction: {statistics.median(rates):,.0f}")
    if not args.skip_memory:
        facts_1, peak_1 = peak_memory(args.org_units, args.data_elements, cost)
        facts_4, peak_4 = peak_memory(4 * args.org_units, args.data_elements, cost)
        growth = peak_4 / peak_1
        print(
            f"(c) peak RSS of a refresh: {facts_1:,} facts {peak_1:.0f} MB; "
            f"{facts_4:,} facts ({facts_4 / facts_1:.1f}x) {peak_4:.0f} MB: {growth:.2f}x "
            f"(target <= 1.3x) {'OK' if growth <= 1.3 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
