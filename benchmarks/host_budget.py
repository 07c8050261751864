"""The host budget inside Prefect runs: leases kept per process vs one acquire per request.

Inside a flow run, 60 requests (20 ms of server latency each) go to one emulator with
`max_concurrency=2`, three ways, and the script prints the median wall time of several
runs and its ratio to the first:

(a) no shared budget (the process's own budget only): the floor;
(b) the package's way: the client holds leases of the host's Prefect global
    concurrency limit, taken when requests wait and kept while they follow each other;
(c) one Prefect `concurrency()` acquire around every request (what a per-request slot
    of the global limit costs: a denied acquire waits the server's `Retry-After`).

The machine is shared and noisy: compare the ratios, not the seconds.

Run: `python benchmarks/host_budget.py [--requests 60] [--runs 3]`
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import dataclasses
import os
import shutil
import statistics
import tempfile
import time

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
_HOME = tempfile.mkdtemp(prefix="prefect-dhis2-bench-")  # no trace in ~/.prefect or /tmp
os.environ.setdefault("PREFECT_HOME", _HOME)
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)

from prefect import flow
from prefect.concurrency.asyncio import concurrency
from prefect.testing.utilities import prefect_test_harness

from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.host_limit import ensure_host_concurrency_limit
from prefect_dhis2.runtime import run_sync
from prefect_dhis2.testing import CostModel, Dhis2Emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with (
        prefect_test_harness(server_startup_timeout=120),
        Dhis2Emulator(cost=CostModel(latency_s=0.02)) as emulator,
    ):
        credentials = emulator.credentials().model_copy(update={"max_concurrency": 2})
        name = run_sync(ensure_host_concurrency_limit(credentials))

        async def burst(mode: str) -> None:
            settings = credentials.client_settings()  # in a flow run: with shared slots
            if mode != "leases":
                settings = dataclasses.replace(settings, shared_slots=None)
            async with AsyncDhis2Client(settings) as client:

                async def one() -> None:
                    if mode == "per-request":
                        async with concurrency(name, occupy=1, strict=True):
                            await client.get_server_info()
                    else:
                        await client.get_server_info()

                await asyncio.gather(*(one() for _ in range(args.requests)))

        @flow
        def timed(mode: str) -> float:
            started = time.perf_counter()
            asyncio.run(burst(mode))
            return time.perf_counter() - started

        results: dict[str, list[float]] = {"local": [], "leases": [], "per-request": []}
        for _ in range(args.runs):
            for mode, times in results.items():
                times.append(timed(mode))
        floor = statistics.median(results["local"])
        print(f"{args.requests} requests, max_concurrency=2, 20 ms latency, {args.runs} runs")
        for label, mode in (
            ("(a) process budget only", "local"),
            ("(b) leases kept per process", "leases"),
            ("(c) one acquire per request", "per-request"),
        ):
            median = statistics.median(results[mode])
            print(f"{label:32} median {median:6.2f} s  ratio {median / floor:5.2f}")


if __name__ == "__main__":
    main()
