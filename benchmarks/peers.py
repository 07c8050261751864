"""prefect-dhis2 against its peers and against an ideal client, in one run.

The emulator runs in its own process with a cost model (20 ms latency per request,
4 server workers, 20 us per row) and a lowered analytics row limit
(`keyAnalyticsMaxLimit` 1,000 by default), standing for a remote DHIS2. Each method
runs in a fresh child process (so its CPU time and peak resident memory are its
own), several times; the table shows medians and the ratio of each to the ideal
client measured in the same run:

- **ideal**: a concurrent httpx loop written here, 4 workers, over shards that
  already fit the row limit (the org units of the level listed, computed before
  the clock starts), `orjson.loads` of each body and nothing else;
- **openhexa-toolbox**: `DHIS2(...).analytics.get(...)` the way its users call it
  (sequential chunks; it sends `ignoreLimit=true`, so it never meets the limit),
  and `meta.organisation_units()`; needs the `bench` extra;
- **prefect-dhis2**: the async client in the ideal's loop, the engine
  (`afetch_analytics_table` with default arguments, and with `max_rows` = the
  limit), the Prefect task and the bundled flow (CSV + Parquet written);
- **(empty Prefect flow + task)**: the fixed cost of any Prefect run in the same
  test harness (flow and task runs, states, the flow's heartbeat thread), the
  floor under the task and the flow.

For org units also: openhexa-toolbox asked for the 10 fields prefect-dhis2 exports (its
default asks for 5), the task with `share_host_limit=False` (no Prefect global limit
leases), and the *Prefect floor* (one empty flow run with one empty task run, what
Prefect itself costs the task and the flow), with the Prefect methods net of it.
`--no-flow-heartbeats` turns Prefect's flow heartbeats off: the heartbeat thread is
joined at the end of each flow run and sleeps in 1 s steps, so with heartbeats on a
flow run's wall time is rounded up by up to a second.

Client CPU is the child's own CPU time (the server is elsewhere), per 100,000 rows
and against `orjson.loads` of the same bodies (the ideal's). The machine is shared
and noisy (2 cores, other jobs), so read the ratios, not the seconds.

Run: `python benchmarks/peers.py [--runs 3] [--only analytics|org_units] [--quick]`
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
if "PREFECT_HOME" not in os.environ:  # Prefect's files go to a folder removed at exit
    _HOME = tempfile.mkdtemp(prefix="prefect-dhis2-bench-")
    os.environ["PREFECT_HOME"] = _HOME  # children (the measured methods) inherit it
    atexit.register(shutil.rmtree, _HOME, ignore_errors=True)

REFERENCE_DATE = date(2024, 6, 30)
MONTHS = [f"2023{m:02d}" for m in range(7, 13)] + [f"2024{m:02d}" for m in range(1, 7)]
DATA_ELEMENTS = ["fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP", "hfdmMSPBgLG"]
WORKERS = 4
USER = ("admin", "district")


# ---------------------------------------------------------------- the methods (child side)


def _level_units(base_url: str, level: int) -> list[str]:
    import httpx

    response = httpx.get(
        f"{base_url}/api/organisationUnits",
        params={"fields": "id", "filter": f"level:eq:{level}", "paging": "false"},
        auth=USER,
        timeout=120,
    )
    response.raise_for_status()
    return sorted(u["id"] for u in response.json()["organisationUnits"])


def _ideal_shards(base_url: str, work: dict[str, Any]) -> list[list[tuple[str, str]]]:
    """Shards that fit the limit: one data item x all months x a slice of the units."""
    units = _level_units(base_url, 4)
    per_shard = max(work["limit"] // len(MONTHS), 1)
    shards = []
    for dx in work["data_items"]:
        for start in range(0, len(units), per_shard):
            ou = ";".join(units[start : start + per_shard])
            shards.append(
                [
                    ("dimension", f"dx:{dx}"),
                    ("dimension", f"ou:{ou}"),
                    ("dimension", f"pe:{';'.join(MONTHS)}"),
                ]
            )
    return shards


async def _shard_loop(base_url: str, shards: list[Any], fetch: Any) -> tuple[int, list[bytes]]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for shard in shards:
        queue.put_nowait(shard)
    rows = 0
    bodies: list[bytes] = []

    async def worker() -> None:
        nonlocal rows
        while not queue.empty():
            shard = queue.get_nowait()
            count, body = await fetch(shard)
            rows += count
            if body is not None:
                bodies.append(body)

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return rows, bodies


def run_ideal(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    import httpx
    import orjson

    async def main() -> tuple[int, list[bytes]]:
        limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
        async with httpx.AsyncClient(auth=USER, limits=limits, timeout=300) as client:
            if work["kind"] == "org_units":
                return await _ideal_pages(client, base_url)

            async def fetch(params: Any) -> tuple[int, bytes]:
                response = await client.get(f"{base_url}/api/analytics", params=params)
                response.raise_for_status()
                body = response.content
                return len(orjson.loads(body)["rows"]), body

            return await _shard_loop(base_url, prepared, fetch)

    rows, bodies = asyncio.run(main())
    started = time.process_time()
    for body in bodies:
        orjson.loads(body)
    return {"rows": rows, "orjson_cpu_s": time.process_time() - started}


async def _ideal_pages(client: Any, base_url: str) -> tuple[int, list[bytes]]:
    import orjson

    from prefect_dhis2.org_units import ORG_UNIT_FIELDS

    params = {"fields": ORG_UNIT_FIELDS, "pageSize": "1000"}
    first = await client.get(f"{base_url}/api/organisationUnits", params={**params, "page": "1"})
    first.raise_for_status()
    bodies = [first.content]
    data = orjson.loads(first.content)
    rows = len(data["organisationUnits"])
    pages = data["pager"]["pageCount"]

    async def fetch(page: int) -> tuple[int, bytes]:
        response = await client.get(
            f"{base_url}/api/organisationUnits", params={**params, "page": str(page)}
        )
        response.raise_for_status()
        return len(orjson.loads(response.content)["organisationUnits"]), response.content

    more, rest = await _shard_loop(base_url, list(range(2, pages + 1)), fetch)
    return rows + more, bodies + rest


def _credentials(base_url: str) -> Any:
    from prefect_dhis2 import Dhis2Credentials

    return Dhis2Credentials(
        base_url=base_url, username=USER[0], password=USER[1], max_concurrency=WORKERS
    )


def _query(work: dict[str, Any]) -> Any:
    from prefect_dhis2.analytics import AnalyticsQuery

    return AnalyticsQuery(data_items=work["data_items"], org_units=["LEVEL-4"], periods=MONTHS)


def run_client(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    credentials = _credentials(base_url)

    async def main() -> int:
        async with credentials.get_async_client() as client:
            if work["kind"] == "org_units":
                from prefect_dhis2.org_units import ORG_UNIT_FIELDS

                return len(await client.fetch_metadata("organisationUnits", fields=ORG_UNIT_FIELDS))

            async def fetch(params: Any) -> tuple[int, None]:
                dims = [v for k, v in params if k == "dimension"]
                grid = await client.fetch_analytics(dims)
                return len(grid.rows), None

            rows, _ = await _shard_loop(base_url, prepared, fetch)
            return rows

    return {"rows": asyncio.run(main())}


def run_engine(
    base_url: str, work: dict[str, Any], prepared: Any, **options: Any
) -> dict[str, Any]:
    from prefect_dhis2.analytics import afetch_analytics_table

    credentials = _credentials(base_url)

    async def main() -> Any:
        async with credentials.get_async_client() as client:
            return await afetch_analytics_table(client, _query(work), **options)

    extract = asyncio.run(main())
    return {"rows": len(extract.rows), "failed_shards": len(extract.failures)}


def run_engine_limit(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    return run_engine(base_url, work, prepared, max_rows=work["limit"])


def run_task(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    from prefect import flow

    credentials = _credentials(base_url)
    if work["kind"] == "org_units":
        from prefect_dhis2.org_units import export_org_units

        @flow
        def wrapper() -> int:
            result = export_org_units(credentials, tempfile.mkdtemp(dir=prepared), geojson=False)
            return int(result.org_units)

        return {"rows": wrapper()}

    from prefect_dhis2.analytics import fetch_analytics_table

    @flow
    def wrapper_analytics() -> int:
        task = fetch_analytics_table.with_options(refresh_cache=True)
        return len(task(credentials, _query(work)).rows)

    return {"rows": wrapper_analytics()}


def run_task_unshared(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    """The org unit task with `share_host_limit=False`: no Prefect global limit leases."""
    from prefect import flow

    from prefect_dhis2.org_units import export_org_units

    credentials = _credentials(base_url).model_copy(update={"share_host_limit": False})

    @flow
    def wrapper() -> int:
        result = export_org_units(credentials, tempfile.mkdtemp(dir=prepared), geojson=False)
        return int(result.org_units)

    return {"rows": wrapper()}


def run_flow(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    credentials = _credentials(base_url)
    out = tempfile.mkdtemp(dir=prepared)
    if work["kind"] == "org_units":
        from prefect_dhis2.flows import dhis2_org_units_export

        report = dhis2_org_units_export(credentials=credentials, output_dir=out)
        return {"rows": report.result.org_units}
    from prefect_dhis2.flows import dhis2_analytics_export

    report = dhis2_analytics_export(
        data_items=work["data_items"],
        org_units=["LEVEL-4"],
        periods=MONTHS,
        credentials=credentials,
        output_dir=out,
    )
    return {"rows": report.table.rows}


def run_openhexa_fields(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    """`meta.organisation_units()` asking for the fields prefect-dhis2 exports (its
    default asks for 5 of them, which the server renders in less time)."""
    import logging

    from openhexa.toolbox.dhis2 import DHIS2

    from prefect_dhis2.org_units import ORG_UNIT_FIELDS

    logging.getLogger("openhexa").setLevel(logging.WARNING)
    dhis = DHIS2(url=base_url, username=USER[0], password=USER[1])
    return {"rows": len(dhis.meta.organisation_units(fields=ORG_UNIT_FIELDS))}


def run_prefect_floor(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    """What Prefect itself costs a task in a flow: one flow run and one task run that
    do nothing (each Prefect task and bundled flow measured here is at least that)."""
    from prefect import flow, task

    @task
    def nothing() -> int:
        return 0

    @flow
    def floor() -> int:
        return int(nothing())

    return {"rows": floor()}


def run_openhexa(base_url: str, work: dict[str, Any], prepared: Any) -> dict[str, Any]:
    import logging

    from openhexa.toolbox.dhis2 import DHIS2

    logging.getLogger("openhexa").setLevel(logging.WARNING)
    dhis = DHIS2(url=base_url, username=USER[0], password=USER[1])
    if work["kind"] == "org_units":
        return {"rows": len(dhis.meta.organisation_units())}
    values = dhis.analytics.get(
        data_elements=work["data_items"],
        periods=MONTHS,
        org_unit_levels=[4],
        include_cocs=False,  # the same rows as the other methods (no co disaggregation)
    )
    return {"rows": len(values)}


METHODS = {
    "ideal": run_ideal,
    "openhexa": run_openhexa,
    "openhexa_fields": run_openhexa_fields,
    "client": run_client,
    "engine": run_engine,
    "engine_limit": run_engine_limit,
    "task": run_task,
    "task_unshared": run_task_unshared,
    "flow": run_flow,
    "floor": run_prefect_floor,
}
LABELS = {
    "ideal": "ideal concurrent httpx loop",
    "openhexa": "openhexa-toolbox",
    "openhexa_fields": "openhexa-toolbox, our 10 fields",
    "client": "prefect-dhis2 async client",
    "engine": "engine, default arguments",
    "engine_limit": "engine, max_rows = limit",
    "task": "Prefect task",
    "task_unshared": "Prefect task, no host sharing",
    "flow": "bundled flow (files written)",
    "floor": "Prefect floor: empty flow + task",
}
PREFECT_METHODS = ("task", "task_unshared", "flow", "floor")
ORG_UNIT_ONLY = ("openhexa_fields", "task_unshared")


def child(method: str, base_url: str, work: dict[str, Any], runs: int) -> None:
    import contextlib

    prepared: Any = None
    tmp = tempfile.mkdtemp(prefix="dhis2-bench-")
    if work["kind"] == "analytics" and method in ("ideal", "client"):
        prepared = _ideal_shards(base_url, work)
    if method in PREFECT_METHODS:
        prepared = tmp
    context: Any = contextlib.nullcontext()
    if method in PREFECT_METHODS:
        # Every run fetches: the Prefect cache of an unchanged re-run is not what is measured.
        os.environ["PREFECT_TASKS_REFRESH_CACHE"] = "true"
        from prefect.testing.utilities import prefect_test_harness

        context = prefect_test_harness(server_startup_timeout=180)
        if not work.get("heartbeats", True):
            # Prefect's flow heartbeat thread sleeps in 1 s steps and is joined when the
            # run ends, which rounds every flow run up by up to a second.
            from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

            harness = context
            context = contextlib.ExitStack()
            context.enter_context(harness)
            context.enter_context(temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
    results = []
    with context:
        warm = 1  # imports, connections and the server's caches, for every method alike
        for run in range(runs + warm):
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                result = METHODS[method](base_url, work, prepared)
            except Exception as error:  # noqa: BLE001 - a failed method is a result too
                result = {"rows": 0, "error": f"{type(error).__name__}: {str(error)[:160]}"}
            result["wall_s"] = time.perf_counter() - wall
            result["cpu_s"] = time.process_time() - cpu
            if run >= warm:
                results.append(result)
    subprocess.run(["rm", "-rf", tmp], check=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"runs": results, "peak_rss_mb": peak}))


# ---------------------------------------------------------------- the parent


def measure(method: str, base_url: str, work: dict[str, Any], runs: int) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", method, base_url, json.dumps(work), str(runs)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = [line for line in output.stdout.splitlines() if line.startswith("{")]
    if output.returncode or not lines:
        return {"error": (output.stderr or output.stdout)[-300:]}
    data: dict[str, Any] = json.loads(lines[-1])
    runs_ = data["runs"]
    errors = [r["error"] for r in runs_ if "error" in r]
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs_),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs_),
        "rows": runs_[0]["rows"],
        "failed_shards": runs_[0].get("failed_shards", 0),
        "orjson_cpu_s": runs_[0].get("orjson_cpu_s"),
        "peak_rss_mb": data["peak_rss_mb"],
        "error": errors[0] if errors else None,
    }


def table(title: str, results: dict[str, dict[str, Any]], orjson_s: float | None) -> None:
    ideal = results.get("ideal", {}).get("wall_s")
    print(f"\n{title}")
    print(
        f"  {'method':32} {'wall s':>8} {'x ideal':>8} {'rows':>9} "
        f"{'CPU s':>7} {'CPU/100k':>9} {'x orjson':>9} {'peak MB':>8}"
    )
    for method, r in results.items():
        if "wall_s" not in r:
            print(f"  {LABELS[method]:32} failed: {r.get('error')}")
            continue
        per_100k = f"{r['cpu_s'] / r['rows'] * 100_000:9.2f}" if r["rows"] else f"{'':9}"
        vs_orjson = f"{r['cpu_s'] / orjson_s:9.2f}" if orjson_s else f"{'':9}"
        ratio = f"{r['wall_s'] / ideal:8.2f}" if ideal else f"{'':8}"
        note = ""
        if r.get("failed_shards"):
            note = f"  ({r['failed_shards']} shards failed)"
        elif r.get("error"):
            note = f"  ({r['error'][:60]})"
        print(
            f"  {LABELS[method]:32} {r['wall_s']:8.2f} {ratio} {r['rows']:9,} "
            f"{r['cpu_s']:7.2f} {per_100k} {vs_orjson} {r['peak_rss_mb']:8.0f}{note}"
        )


def net_of_floor(results: dict[str, dict[str, Any]]) -> None:
    """The Prefect methods with Prefect's own cost of one flow run and one task run
    (the floor, measured in the same run) taken off: what prefect-dhis2 adds."""
    ideal = results.get("ideal", {}).get("wall_s")
    floor = results.get("floor", {}).get("wall_s")
    if not ideal or floor is None:
        return
    print(f"  net of the Prefect floor ({floor:.2f} s): (wall - floor) / ideal")
    for method in ("task", "task_unshared", "flow"):
        wall = results.get(method, {}).get("wall_s")
        if wall is not None:
            print(f"    {LABELS[method]:30} {(wall - floor) / ideal:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=1_000, help="keyAnalyticsMaxLimit")
    parser.add_argument("--only", choices=["analytics", "org_units"])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--quick", action="store_true", help="the small workloads only")
    parser.add_argument(
        "--no-flow-heartbeats",
        action="store_true",
        help="turn Prefect's flow run heartbeats off (each flow run then ends up to 1 s sooner)",
    )
    args = parser.parse_args()

    from prefect_dhis2.testing import CostModel, EmulatorProcess

    cost = CostModel(latency_s=0.02, per_row_s=2e-5, max_concurrent=4)
    methods = [m for m in args.methods.split(",") if m in METHODS]
    print(f"Emulator in its own process: {cost}; keyAnalyticsMaxLimit {args.limit:,}")
    print(f"Medians of {args.runs} runs per method, each method in a fresh process.")
    print("Shared, noisy 2-core machine: compare the ratios, not the seconds.")
    if args.no_flow_heartbeats:
        print("Prefect flow run heartbeats off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY=None).")
    workloads: list[tuple[str, int, dict[str, Any]]] = []
    if args.only in (None, "analytics"):
        workloads += [
            ("analytics: 3 data elements x LEVEL-4 x 12 months", 1_332, {"n_dx": 3}),
            ("analytics: 3 data elements x LEVEL-4 x 12 months", 5_400, {"n_dx": 3}),
            ("analytics (national): 1 data element x LEVEL-4 x 12 months", 20_000, {"n_dx": 1}),
        ]
    if args.only in (None, "org_units"):
        workloads += [("org units", 6_017, {}), ("org units", 24_017, {})]
    if args.quick:
        workloads = [w for w in workloads if w[1] <= 6_017]
    for title, units, extra in workloads:
        kind = "org_units" if title.startswith("org units") else "analytics"
        work = {"kind": kind, "limit": args.limit, "heartbeats": not args.no_flow_heartbeats}
        if kind == "analytics":
            work["data_items"] = DATA_ELEMENTS[: extra["n_dx"]]
        with EmulatorProcess(
            org_units=None if units == 1_332 else units,
            cost=cost,
            relative_period_date=REFERENCE_DATE,
            max_analytics_rows=args.limit,
        ) as dhis2:
            chosen = [m for m in methods if kind == "analytics" or not m.startswith("engine")]
            chosen = [m for m in chosen if kind == "org_units" or m not in ORG_UNIT_ONLY]
            results = {m: measure(m, dhis2.base_url, work, args.runs) for m in chosen}
        rows = results.get("ideal", {}).get("rows", 0)
        table(
            f"{title} ({units:,} org units, {rows:,} rows)",
            results,
            results.get("ideal", {}).get("orjson_cpu_s"),
        )
        net_of_floor(results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
